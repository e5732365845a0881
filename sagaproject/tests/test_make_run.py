"""`make run` serves on port 8000 unless the user chooses another with PORT, given to make or
exported, whatever PORT honcho hands each of its processes."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sagas.testing.cluster import database_environment, descendant_pids, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_environment() -> dict[str, str]:
    """The test's environment less what `make run` must decide for itself."""
    env = {key: value for key, value in os.environ.items() if key not in {"PORT", "WEB_PORT", "DEBUG"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _dry_run(*args: str, **env: str) -> str:
    """The commands `make run` would run after its set-up (which -o skips), without running them."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", "setup", "run", *args],
        cwd=ROOT,
        env={**_make_environment(), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    [start] = [line for line in result.stdout.splitlines() if "honcho start" in line]
    return start


def test_make_run_starts_the_web_process_on_8000_unless_a_port_is_chosen():
    assert _dry_run().startswith("WEB_PORT=8000 ")
    assert _dry_run("PORT=8123").startswith("WEB_PORT=8123 ")
    assert _dry_run(PORT="8124").startswith("WEB_PORT=8124 ")
    # The Procfile's web line reads that variable, not the PORT honcho overwrites.
    [web] = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")]
    assert "127.0.0.1:${WEB_PORT:-8000}" in web


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answer(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None


@pytest.mark.slow
@pytest.mark.parametrize("chosen_by", ["nobody", "make argument", "environment"])
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_make_run_serves_http_on_the_chosen_port_and_ctrl_c_stops_everything(chosen_by, tmp_path):
    port = 8000 if chosen_by == "nobody" else _free_port()
    if not _port_is_free(port):
        pytest.skip(f"port {port} is in use on this machine")
    env = {**_make_environment(), **database_environment()}
    command = ["make", "--no-print-directory", "-o", "setup", "run"]
    if chosen_by == "make argument":
        command.append(f"PORT={port}")
    elif chosen_by == "environment":
        env["PORT"] = str(port)
    log = tmp_path / "make-run.log"
    with log.open("wb") as sink:
        make = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    started: list[int] = []
    try:
        wait_until(
            lambda: _answer(f"http://127.0.0.1:{port}/admin/login/") is not None or make.poll() is not None,
            timeout=60,
            what=f"make run to answer on port {port}",
        )
        assert make.poll() is None, log.read_text()
        status, page = _answer(f"http://127.0.0.1:{port}/admin/login/")
        assert status == 200, page
        assert 'name="password"' in page
        started = descendant_pids(make.pid)
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(make.pid, signal.SIGINT)
        make.wait(30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in started):
            time.sleep(0.2)
        assert [pid for pid in started if Path(f"/proc/{pid}").exists()] == [], log.read_text()
        # What answered was make run's web process, not some other server on that port.
        assert _answer(f"http://127.0.0.1:{port}/admin/login/") is None
    finally:
        for pid in [*started, *descendant_pids(make.pid), make.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            make.wait(10)
