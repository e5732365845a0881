"""Production settings: `check --deploy` is clean, weak settings are caught, and gunicorn with
whitenoise serves the collected static files (admin styles, the API docs' assets)."""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.endswith("DATABASE_URL")}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="shop.example.com,127.0.0.1",
        DATA_DIR=str(tmp_path / "data"),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_weak_secret_key(tmp_path):
    result = manage(production_env(tmp_path, SECRET_KEY="changeme"), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    # The proxy in front says the request came over HTTPS, so no redirect to https://.
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait_for(url: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else "gunicorn exited"
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer at {url} within {timeout}s")


@pytest.mark.slow
def test_gunicorn_serves_the_collected_static_files(tmp_path):
    env = production_env(tmp_path)
    collected = manage(env, "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    # As a release does (README "Production"): the throttles' counts live in this table.
    cache_table = manage(env, "createcachetable", "--database=default")
    assert cache_table.returncode == 0, cache_table.stderr
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "sagaproject.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/schema/", server)
        assets = []
        for page in ("/api/docs/", "/admin/login/"):
            status, _, html = _get(base + page)
            assert status == 200, page
            assets += re.findall(r'(?:src|href)="(/static/[^"]+)"', html.decode())
        assert any(re.search(r"swagger-ui-bundle\.[0-9a-f]{12}\.js$", asset) for asset in assets), assets
        assert any(re.search(r"admin/css/base\.[0-9a-f]{12}\.css$", asset) for asset in assets), assets
        for asset in assets:
            status, headers, _ = _get(base + asset)
            assert status == 200, asset
            # Hashed names never change content, so browsers may keep them for good.
            assert "immutable" in headers["Cache-Control"], asset
        status, headers, _ = _get(f"{base}/static/admin/css/base.css")
        assert (status, headers["Content-Encoding"]) == (200, "gzip")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
