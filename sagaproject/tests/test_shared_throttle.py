"""Throttle counts live in a cache every web process shares, so N processes allow the rate once,
not N times; CACHE_URL may name Redis instead."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from sagas.testing.cluster import database_environment

ROOT = Path(__file__).resolve().parents[2]
GUESS = {"username": "alice", "password": "a-wrong-guess"}

# What a second web process does: one password guess from the same address, its status printed.
SECOND_PROCESS = f"from django.test import Client; print(Client().post('/api/token/', {GUESS!r}).status_code)"


def run_in_a_second_process(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **database_environment(), **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_second_web_process_counts_the_guesses_the_first_one_saw(client, monkeypatch):
    cache.clear()
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "token_obtain", "2/minute")
    assert [client.post("/api/token/", GUESS).status_code for _ in range(2)] == [400, 400]
    second = run_in_a_second_process(SECOND_PROCESS, API_THROTTLE_TOKEN_OBTAIN="2/minute")
    assert second.returncode == 0, second.stderr
    assert second.stdout.split()[-1] == "429"
    cache.clear()


def test_the_default_cache_is_a_database_table_unless_cache_url_names_redis():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    with_redis = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'])",
        ],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "sagaproject.settings",
            "DEBUG": "1",
            "DATA_DIR": "/tmp",
            "CACHE_URL": "redis://cache.internal:6379/1",
        },
        capture_output=True,
        text=True,
    )
    assert with_redis.stdout.strip() == "django.core.cache.backends.redis.RedisCache", with_redis.stderr


def test_a_cache_url_that_is_not_redis_stops_the_start_up_without_showing_its_password():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "CACHE_URL": "memcached://user:s3cret@cache.internal:11211"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "CACHE_URL='memcached://user:***@cache.internal:11211' is not a Redis URL" in result.stderr
    assert "s3cret" not in result.stderr
