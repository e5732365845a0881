"""Start and stop a real `manage.py qcluster` on the databases the current process uses.

Tests use it to run sagas through real worker processes: the cluster gets the connection
settings of this process's (test) databases through the environment, exactly as a deployed
worker gets them.
"""

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django_q.models import OrmQ

from sagas.choreography.monitor import DELIVERIES
from sagas.engine.connections import service_aliases
from sagas.engine.recovery import sweep
from sagas.models import SagaInstance, SagaStepLog, StepStatus
from sagas.workers.heartbeat import ClusterHeartbeat, heartbeat_of


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
    for alias in service_aliases():
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

    def processes(self) -> list[int]:
        """The sentinel, workers, pusher and monitor of this cluster (not the main process)."""
        return descendant_pids(self.pid) if self.alive() else []

    def busy_workers(self) -> dict[int, str]:
        """Worker processes of this cluster that hold a saga's lease now, with that saga's id.

        A worker holds a lease exactly while it runs a step, so these are the processes a
        kill catches mid-step.
        """
        ours = set(self.processes())
        return {pid: saga_id for pid, saga_id in lease_holders().items() if pid in ours}

    def kill_busy_worker(self, rng: random.Random) -> tuple[int, str] | None:
        """SIGKILL one worker that is running a step; (pid, saga id), or None if none is busy."""
        busy = self.busy_workers()
        if not busy:
            return None
        pid = rng.choice(sorted(busy))
        if lease_holders().get(pid) != busy[pid]:
            return None  # it finished that step meanwhile; an idle worker is not what we want to kill
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return pid, busy[pid]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> "WorkerCluster":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class SupervisedWorkers(WorkerCluster):
    """`manage.py run_workers` (a supervised, self-healing cluster) as the deployment runs it."""

    def start(self) -> "SupervisedWorkers":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **database_environment(), "Q_WORKERS": str(self.workers), **self.extra_env}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "run_workers", "--grace", "5"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def cluster_pid(self) -> int | None:
        """The main process of the cluster run_workers runs now, if any."""
        children = [pid for pid in descendant_pids(self.pid) if _parent_of(pid) == self.pid]
        return children[0] if children else None

    def worker_pids(self) -> list[int]:
        """The worker processes of the current cluster, as its last heartbeat names them."""
        main = self.cluster_pid()
        beat = heartbeat_of(socket.gethostname(), main) if main else None
        return list(beat.workers) if beat else []

    def heartbeat(self) -> "ClusterHeartbeat | None":
        main = self.cluster_pid()
        return heartbeat_of(socket.gethostname(), main) if main else None

    def restarts(self) -> int:
        """Restarts run_workers made, as it logged them (the heartbeat's count lags a restart by seconds)."""
        return self.log().count("restarting the worker cluster")

    def kill_worker(self, kind: "WorkerState", rng: random.Random, spare: set[int] = frozenset()) -> "Kill | None":
        """SIGKILL one worker of the current cluster (not in `spare`) found in state `kind` now; None if none is.

        The state is read again with the worker stopped (SIGSTOP), so it cannot change between
        that reading and the kill: a worker that left its wait for a task, or took a lease, in
        the meantime is resumed (SIGCONT) and left alone. `at` is the stopped instant.
        """
        candidates = [pid for pid in self.worker_pids() if pid not in spare and worker_state(pid) == kind]
        rng.shuffle(candidates)
        for pid in candidates:
            waiting = _syscall_line(pid)
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            if not _wait_stopped(pid):
                _resume(pid)
                continue
            at = timezone.now()
            holders = lease_holders()
            state = worker_state(pid, holders, stopped=True)
            # Idle means still in the very wait it was seen in before the stop (same call, same place).
            if state != kind or (kind == WorkerState.IDLE and _syscall_line(pid) != waiting):
                _resume(pid)
                continue
            stale = runs_named_in_flight(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _resume(pid)  # a stopped process dies of SIGKILL; SIGCONT only makes sure
            return Kill(pid=pid, kind=kind, saga_id=holders.get(pid, ""), at=at, stale_runs=stale)
        return None

    def stop(self, grace_seconds: float = 30) -> int | None:
        group = self.cluster_pid()
        code = super().stop(grace_seconds)
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        return code


class WorkerState(StrEnum):
    IDLE = "idle"  # waiting for a task: in no task at all
    IN_STEP = "in step"  # holding a saga's lease: running an orchestrated step
    BETWEEN_STEPS = "between steps"  # inside a task, holding no saga's lease (a delivery, a claim, a checkpoint)
    GONE = "gone"


# Syscalls a django-q2 worker waits for a task in: futex (the queue's read lock), read (its pipe).
IDLE_SYSCALLS = {"0", "202"}


def _syscall(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/syscall").read_text().split()[0]
    except (OSError, IndexError):
        return ""


def _syscall_line(pid: int) -> str:
    """The syscall `pid` is in with its arguments, stack and instruction pointers ('' if gone)."""
    try:
        return Path(f"/proc/{pid}/syscall").read_text().strip()
    except OSError:
        return ""


def _wait_stopped(pid: int, timeout: float = 1.0) -> bool:
    """Wait until `pid` is in the stopped state (T); False if it is gone or did not stop in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state in ("T", "t"):
            return True
        if state in ("Z", "X"):
            return False
        time.sleep(0.001)
    return False


def _resume(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def worker_state(pid: int, holders: dict[int, str] | None = None, stopped: bool = False) -> WorkerState:
    """What the worker process `pid` is doing now, from its saga lease and the syscall it is in.

    `stopped`: the process is stopped (SIGSTOP), so one reading of its syscall is final.
    """
    if pid in (lease_holders() if holders is None else holders):
        return WorkerState.IN_STEP
    call = _syscall(pid)
    if not call:
        return WorkerState.GONE
    if call in IDLE_SYSCALLS and stopped:
        return WorkerState.IDLE
    if call in IDLE_SYSCALLS:
        time.sleep(0.02)  # seen twice waiting: not a passing lock inside a task
        return WorkerState.IDLE if _syscall(pid) in IDLE_SYSCALLS else WorkerState.BETWEEN_STEPS
    return WorkerState.BETWEEN_STEPS


@dataclass(frozen=True)
class Kill:
    pid: int
    kind: WorkerState
    saga_id: str  # the saga whose step it ran, for a kill in a step
    at: datetime  # the instant its state was read with the process stopped, just before the kill
    # Runs of this process (host:pid:run) the database still named in flight at `at` although the
    # process was not in them: lost before the kill (a freeze, a connection cut while closing a run).
    stale_runs: frozenset[str] = frozenset()


def runs_named_in_flight(pid: int) -> frozenset[str]:
    """Runs of process `pid` on this host that a RUNNING step log row or a saga's delivery entry names."""
    prefix = f"{socket.gethostname()}:{pid}:"
    runs = set(
        SagaStepLog.objects.filter(status=StepStatus.RUNNING, worker__startswith=prefix).values_list(
            "worker", flat=True
        )
    )
    for context in SagaInstance.objects.filter(context__has_key=DELIVERIES).values_list("context", flat=True):
        runs.update(run for run in context.get(DELIVERIES, {}) if run.startswith(prefix))
    return frozenset(runs)


def _parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return 0


def lease_holders() -> dict[int, str]:
    """Processes on this host that hold a live saga lease, with the saga each one holds."""
    host = socket.gethostname()
    holders = {}
    live = SagaInstance.objects.filter(lease_expires_at__gt=timezone.now()).exclude(lease_owner="")
    for owner, saga_id in live.values_list("lease_owner", "pk"):
        owner_host, pid, _ = owner.rsplit(":", 2)
        if owner_host == host and pid.isdigit():
            holders[int(pid)] = str(saga_id)
    return holders


class Supervisor:
    """What a process supervisor and the recovery schedule do for running clusters, at test speed.

    Each tick runs the recovery sweep every `sweep_every` seconds (django-q2 fires schedules
    at best every 30 s) and replaces the clusters when they have stopped taking tasks: no
    step started for `stall_seconds` while queued tasks wait (the django-q2 stall after a
    worker death, see docs/django-q2.md).
    """

    def __init__(
        self,
        clusters: list[WorkerCluster],
        sweep_every: float = 2.0,
        idle_seconds: int = 15,
        stall_seconds: float = 25.0,
    ):
        self.clusters = clusters
        self.sweep_every = sweep_every
        self.idle_seconds = idle_seconds
        self.stall_seconds = stall_seconds
        self.sweeps = 0
        self.kicked = 0
        self.restarts = 0
        self.stalls = 0
        self._last_sweep = time.monotonic()
        self._last_log_id = 0
        self._waiting: set[int] = set()
        self._last_progress = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep >= self.sweep_every:
            self.kicked += len(sweep(idle_seconds=self.idle_seconds).saga_ids)
            self.sweeps += 1
            self._last_sweep = now
        newest = SagaStepLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
        waiting = self._tasks_waiting()
        # Progress is a new step, or a task that was waiting being taken by a worker.
        if newest != self._last_log_id or self._waiting - waiting:
            self._last_progress = now
        self._last_log_id, self._waiting = newest, waiting
        if waiting and now - self._last_progress > self.stall_seconds:
            print(f"supervisor: no progress for {self.stall_seconds:.0f}s with tasks waiting; restarting")
            self.stalls += 1
            self.restart()

    def _tasks_waiting(self) -> set[int]:
        """Ids of (up to 200 of the oldest) queue rows due for a couple of seconds and not taken."""
        due = OrmQ.objects.using("default").filter(lock__lte=timezone.now() - timedelta(seconds=2))
        return set(due.order_by("id").values_list("id", flat=True)[:200])

    def restart(self) -> None:
        """Kill every cluster's process group and start a fresh cluster in its place."""
        for index, cluster in enumerate(self.clusters):
            cluster.stop(grace_seconds=0)
            self.clusters[index] = WorkerCluster(
                workers=cluster.workers, env=cluster.extra_env, log_path=cluster.log_path
            ).start()
        self.restarts += 1
        self._last_progress = time.monotonic()

    def run_until(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        interval: float = 0.5,
        on_tick: Callable[[], None] | None = None,
        what: str = "condition",
    ) -> None:
        """Tick (and call on_tick) every `interval` until predicate() holds; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
            if on_tick is not None:
                on_tick()
            self.tick()
            time.sleep(interval)

    def stop(self) -> None:
        for cluster in self.clusters:
            cluster.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.25, what: str = "condition") -> None:
    """Poll until predicate() is true; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
