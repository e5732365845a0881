import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from sagaproject.databases import build_databases
from sagaproject.env import env_bool, env_int, env_list, env_rate
from sagaproject.routers import ServiceRouter

BASE = Path(__file__).resolve().parents[2]


def test_without_database_url_every_alias_is_its_own_sqlite_file_in_wal_mode(tmp_path):
    databases = build_databases(BASE, {"DATA_DIR": str(tmp_path)})
    assert set(databases) == {"default", "orders", "payments", "inventory"}
    names = {config["NAME"] for config in databases.values()}
    assert len(names) == 4
    for config in databases.values():
        assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
        assert config["OPTIONS"]["timeout"] >= 5


def test_database_url_is_used_by_every_alias_each_in_its_own_schema():
    databases = build_databases(BASE, {"DATABASE_URL": "postgres://u@db.example:5432/shop"})
    assert {config["NAME"] for config in databases.values()} == {"shop"}
    assert "search_path" not in str(databases["default"].get("OPTIONS", {}))
    assert databases["orders"]["OPTIONS"]["options"] == "-c search_path=orders"
    assert databases["payments"]["SCHEMA"] == "payments"


def test_a_service_override_wins_over_database_url():
    databases = build_databases(
        BASE, {"DATABASE_URL": "postgres://u@h/shop", "PAYMENTS_DATABASE_URL": "postgres://u@other/money"}
    )
    assert databases["payments"]["HOST"] == "other"
    assert databases["payments"]["NAME"] == "money"
    assert databases["orders"]["HOST"] == "h"


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y", "postgres://host:5432/"])
def test_a_malformed_database_url_is_a_clear_error(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        build_databases(BASE, {"DATABASE_URL": url})


@pytest.mark.parametrize(
    "url",
    [
        "nosuchdb://shop:s3cret-pw@db.example/shop",
        "postgres://shop:s3cret-pw@db.example:notaport/shop",
        "postgres://shop:s3cret-pw@db.example:5432/",
        "nosuchdb://shop:s3cret@pw@db.example/shop",
        "nosuchdb://db.example/shop?user=shop&password=s3cret-pw",
    ],
)
def test_a_database_url_error_names_the_url_without_its_password(url):
    with pytest.raises(ImproperlyConfigured) as error:
        build_databases(BASE, {"ORDERS_DATABASE_URL": url})
    message = str(error.value)
    assert "ORDERS_DATABASE_URL=" in message
    assert "s3cret" not in message
    assert "***" in message and "db.example" in message


def test_malformed_scalars_are_clear_errors():
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe'"):
        env_bool("DEBUG", True, {"DEBUG": "maybe"})
    with pytest.raises(ImproperlyConfigured, match="Q_WORKERS"):
        env_int("Q_WORKERS", 2, {"Q_WORKERS": "two"})
    assert env_list("ALLOWED_HOSTS", [], {"ALLOWED_HOSTS": "a.example, b.example,"}) == ["a.example", "b.example"]


def test_a_malformed_throttle_rate_is_a_clear_error():
    assert env_rate("API_THROTTLE_USER", "600/minute", {}) == "600/minute"
    assert env_rate("API_THROTTLE_USER", "600/minute", {"API_THROTTLE_USER": "5/Hour"}) == "5/hour"
    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_USER='lots' is not a rate"):
        env_rate("API_THROTTLE_USER", "600/minute", {"API_THROTTLE_USER": "lots"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "sometimes", "DEBUG='sometimes' is not a boolean"),
        ("API_THROTTLE_ANON", "fast", "API_THROTTLE_ANON='fast' is not a rate"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL='loud' is not one of"),
        ("NUM_PROXIES", "-1", "NUM_PROXIES='-1' must be at least 0"),
        ("TIME_ZONE", "Mars/Olympus", "TIME_ZONE='Mars/Olympus' is not a time zone name"),
        ("CURRENCY_DECIMALS", "-2", "CURRENCY_DECIMALS='-2' must be at least 0"),
    ],
)
def test_the_server_refuses_to_start_on_a_malformed_setting(variable, value, message):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE,
        # DEBUG on, so the only thing wrong is the variable under test.
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", variable: value},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_production_without_a_secret_key_refuses_to_start():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "0"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def _settings_in_a_clean_environment(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` after loading the settings in a process that has only PATH and `env`."""
    script = f"import django; django.setup(); from django.conf import settings; {code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "sagaproject.settings", **env},
        capture_output=True,
        text=True,
    )


def test_debug_is_off_unless_asked_for_and_no_known_secret_key_is_used(tmp_path):
    result = _settings_in_a_clean_environment("print(settings.DEBUG)", DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    result = _settings_in_a_clean_environment(
        "print(settings.DEBUG, settings.ALLOWED_HOSTS)", DATA_DIR=str(tmp_path), SECRET_KEY="k" * 60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "[]"]
    result = _settings_in_a_clean_environment("print(settings.DEBUG)", DATA_DIR=str(tmp_path), DEBUG="1")
    assert result.stdout.split() == ["True"], result.stderr


def test_check_deploy_without_a_debug_variable_reports_no_debug_warning(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE,
        env={
            "PATH": "/usr/bin:/bin",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "shop.example.com",
            "DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
    )
    assert "security.W018" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


class _Meta:
    def __init__(self, label):
        self.app_label = label


class _Model:
    def __init__(self, label):
        self._meta = _Meta(label)


def test_the_router_puts_each_service_on_its_alias_and_the_rest_on_default():
    router = ServiceRouter()
    assert router.db_for_write(_Model("orders")) == "orders"
    assert router.db_for_read(_Model("inventory")) == "inventory"
    assert router.db_for_write(_Model("sagas")) == "default"
    assert router.allow_migrate("payments", "payments")
    assert not router.allow_migrate("default", "payments")
    assert not router.allow_migrate("orders", "auth")
    assert not router.allow_relation(_Model("orders"), _Model("payments"))


def test_the_development_env_file_beside_the_databases_turns_debug_on(tmp_path):
    (tmp_path / "development.env").write_text("DEBUG=1\n")
    result = _settings_in_a_clean_environment("print(settings.DEBUG)", DATA_DIR=str(tmp_path))
    assert result.stdout.split() == ["True"], result.stderr


def test_a_variable_in_the_environment_wins_over_the_development_env_file(tmp_path):
    (tmp_path / "development.env").write_text("DEBUG=1\n")
    result = _settings_in_a_clean_environment(
        "print(settings.DEBUG)", DATA_DIR=str(tmp_path), DEBUG="0", SECRET_KEY="k" * 60
    )
    assert result.stdout.split() == ["False"], result.stderr


def test_after_make_migrate_a_manage_py_command_typed_in_another_shell_sees_the_development_site(tmp_path):
    environ = {"PATH": os.environ["PATH"], "DATA_DIR": str(tmp_path)}
    made = subprocess.run(["make", "migrate"], cwd=BASE, env=environ, capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-v",
            "0",
            "-c",
            "from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=BASE,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["True"], result.stderr


def test_the_site_time_zone_and_currency_come_from_the_environment(tmp_path):
    code = "print(settings.TIME_ZONE, settings.CURRENCY_CODE, settings.CURRENCY_SYMBOL, settings.CURRENCY_DECIMALS)"
    defaults = _settings_in_a_clean_environment(code, DEBUG="1", DATA_DIR=str(tmp_path))
    assert defaults.stdout.split() == ["UTC", "USD", "$", "2"]
    chosen = _settings_in_a_clean_environment(
        code,
        DEBUG="1",
        DATA_DIR=str(tmp_path),
        TIME_ZONE="Asia/Tokyo",
        CURRENCY_CODE="JPY",
        CURRENCY_SYMBOL="¥",
        CURRENCY_DECIMALS="0",
    )
    assert chosen.stdout.split() == ["Asia/Tokyo", "JPY", "¥", "0"]
