"""Start and stop a real `manage.py qcluster` on the databases the current process uses.

Tests use it to run sagas through real worker processes: the cluster gets the connection
settings of this process's (test) databases through the environment, exactly as a deployed
worker gets them.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

from sagaproject.databases import SERVICE_ALIASES


def _url_for(alias: str) -> str:
    config = connections[alias].settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(config['NAME']).resolve()}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    host = config.get("HOST") or "127.0.0.1"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{config['NAME']}"


def database_environment() -> dict[str, str]:
    """Environment variables that point a new process at this process's databases."""
    env = {"DATABASE_URL": _url_for("default")}
    for alias in SERVICE_ALIASES:
        env[f"{alias.upper()}_DATABASE_URL"] = _url_for(alias)
    return env


def descendant_pids(pid: int) -> list[int]:
    """Every process below `pid`, found through /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            found.append(child)
            frontier.append(child)
    return found


class WorkerCluster:
    """One qcluster process group; use as a context manager."""

    def __init__(self, workers: int = 2, env: Mapping[str, str] | None = None, log_path: Path | None = None):
        self.workers = workers
        self.extra_env = dict(env or {})
        self.log_path = log_path or Path(settings.BASE_DIR) / "artifacts" / f"qcluster-{os.getpid()}-{id(self)}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerCluster":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **database_environment(), "Q_WORKERS": str(self.workers), **self.extra_env}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "the cluster was not started"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace_seconds: float = 30) -> int | None:
        """SIGTERM to the main process only (a graceful stop), then SIGKILL to the group."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace_seconds)
        self.kill()
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> "WorkerCluster":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.25, what: str = "condition") -> None:
    """Poll until predicate() is true; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
