"""What `manage.py run_workers` does while its cluster runs: watch it, and restart it when it stops working.

The cluster (sagas.workers.cluster) repairs a killed worker by itself; the supervisor is for
what it cannot repair: its main process or sentinel gone, a worker that died and was not
replaced, a heartbeat that stopped (the guard loop hung), or no progress against the
backlog (the rule of `sagas.ops.health.cluster_verdict`, the same one `worker_health`, /healthz
and /metrics apply). A restart is the graceful one: SIGTERM to the main process, a grace
period, SIGKILL to the whole process group, a new cluster. The engine's leases and the
sweeps carry on every saga the old cluster held. The supervisor also runs both recovery
sweeps every WORKER_SWEEP_SECONDS, so a deployment needs nothing else to recover.
"""

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils.translation import gettext

from sagas.ops.health import backlog, cluster_verdict
from sagas.workers import heartbeat as cluster_state

logger = logging.getLogger("sagas.workers")

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Thresholds:
    stall_seconds: int
    restart_grace_seconds: float
    missing_seconds: float
    heartbeat_seconds: float
    sweep_seconds: float

    @classmethod
    def from_settings(cls) -> "Thresholds":
        return cls(
            stall_seconds=settings.HEALTH_QUEUE_STALL_SECONDS,
            restart_grace_seconds=settings.WORKER_RESTART_GRACE_SECONDS,
            missing_seconds=settings.WORKER_MISSING_SECONDS,
            heartbeat_seconds=settings.WORKER_HEARTBEAT_TIMEOUT_SECONDS,
            sweep_seconds=settings.WORKER_SWEEP_SECONDS,
        )


def _dies_with_parent() -> None:
    """preexec_fn of the cluster's main process: SIGTERM (a graceful stop) when run_workers dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def process_alive(pid: int) -> bool:
    """True if `pid` runs and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class ClusterSupervisor:
    """One worker cluster, started, watched and restarted by the process that owns this object."""

    def __init__(self, *, stop_grace: float, thresholds: Thresholds | None = None, say: Callable[[str], None]):
        self.stop_grace = stop_grace
        self.thresholds = thresholds or Thresholds.from_settings()
        self.say = say
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.restarts = 0
        self.last_restart = ""
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self._missing_since: dict[int, float] = {}
        self._last_sweep = time.monotonic()

    def start(self) -> None:
        env = {
            **os.environ,
            "SAGA_SUPERVISOR": self.name,
            "SAGA_SUPERVISOR_RESTARTS": str(self.restarts),
            "SAGA_SUPERVISOR_LAST_RESTART": self.last_restart,
            "SAGA_WORKER_STOP_GRACE": str(self.stop_grace),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sagas.workers.cluster"],
            cwd=settings.BASE_DIR,
            env=env,
            start_new_session=True,  # a group of its own: signals to ours do not reach its workers
            preexec_fn=_dies_with_parent,
        )
        self.started = time.monotonic()
        self._missing_since.clear()

    @property
    def pid(self) -> int:
        assert self.process is not None, "the cluster was not started"
        return self.process.pid

    def stop(self, grace: float) -> None:
        """SIGTERM to the main process only, up to `grace` seconds to finish, then SIGKILL to the group."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        kill_group(self.process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def restart(self, reason: str) -> None:
        old = self.pid
        self.restarts += 1
        self.last_restart = reason
        self.say(
            gettext("restarting the worker cluster (pid %(pid)s, restart %(count)s): %(reason)s")
            % {"pid": old, "count": self.restarts, "reason": reason}
        )
        self.stop(self.thresholds.restart_grace_seconds)
        self.start()

    def tick(self) -> None:
        """Look at the cluster once; restart it if it stopped working. Run every second or so."""
        assert self.process is not None, "the cluster was not started"
        if self.process.poll() is not None:
            self.restart(f"its main process exited with code {self.process.returncode}")
            return
        try:
            close_old_connections()
            reason = self.trouble()
            self.sweep_if_due()
        except DatabaseError as error:
            # Without the database there is nothing to judge, and a new cluster would not help.
            self.say(
                gettext("cannot check the worker cluster (pid %(pid)s): %(error)s") % {"pid": self.pid, "error": error}
            )
            return
        if reason:
            self.restart(reason)

    def trouble(self) -> str:
        """Why the cluster must be restarted, or '' if it is working."""
        up = time.monotonic() - self.started
        beat = cluster_state.heartbeat_of(socket.gethostname(), self.pid)
        if beat is None or beat.age() > self.thresholds.heartbeat_seconds:
            if up > self.thresholds.heartbeat_seconds + 30:  # starting takes a few seconds on a busy host
                seen = f"last one {beat.age():.0f}s ago" if beat else "none"
                return f"no heartbeat for {self.thresholds.heartbeat_seconds:g}s ({seen}): its sentinel is gone or hung"
            return ""
        now = time.monotonic()
        dead = [pid for pid in beat.workers if not process_alive(pid)]
        for pid in list(self._missing_since):
            if pid not in dead:
                del self._missing_since[pid]
        for pid in dead:
            since = self._missing_since.setdefault(pid, now)
            if now - since > self.thresholds.missing_seconds:
                return f"worker {pid} died and was not replaced within {self.thresholds.missing_seconds:g}s"
        verdict = cluster_verdict(beat, backlog(self.thresholds.stall_seconds))
        if verdict.stalled:
            return verdict.reason
        return ""

    def sweep_if_due(self) -> None:
        if not self.thresholds.sweep_seconds or time.monotonic() - self._last_sweep < self.thresholds.sweep_seconds:
            return
        from sagas.choreography import sweep as choreography_sweep
        from sagas.engine import recovery

        self._last_sweep = time.monotonic()
        recovery.sweep()
        choreography_sweep.sweep()
