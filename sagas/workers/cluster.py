"""The worker cluster that `manage.py run_workers` starts: django-q2's cluster, made to heal.

Run as `python -m sagas.workers.cluster`. It is django-q2's own cluster (same settings, same
broker, same workers) with a sentinel that repairs what a killed process leaves behind:

- **The task queue's read lock.** Every idle worker waits in `Queue.get()`, and the one next
  in line waits *holding* the queue's read lock (a process-shared semaphore). A SIGKILL there
  leaves the lock taken for ever: the sentinel starts a new worker, but no worker can read a
  task again and the whole cluster stalls (django-q2 #23). Here the queue records which
  process holds the lock, and the sentinel releases it when that process is found dead.
  The same holds for the monitor and the result queue.
- **A worker's timer lock.** A worker killed while it holds its own timer lock (it takes it
  to hand in a result) would block django-q2's guard loop for ever; this guard checks that a
  process is alive before it waits for that lock, and never waits long.
- **Dead connections.** The guard publishes the cluster's status each cycle; after the
  database dropped its connection it logged "the connection is closed" twice a second. This
  guard closes an unusable connection so the next cycle reconnects, and logs each incident
  once, naming the process.
- **Parent death.** Every process of the cluster dies with its parent: the sentinel and its
  children through Linux's parent-death signal, the main process through the signal set by
  run_workers and, as a fallback, a thread that watches its parent.

The repairs live in `sagas.workers.healing`. Each guard cycle the sentinel publishes a heartbeat to the
shared cluster cache (`sagas.workers.heartbeat`): tasks finished, the queue rows its processes hold, its workers.
run_workers, `worker_health`, /healthz and /metrics read it.
"""

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1

logger = logging.getLogger("sagas.workers")


def die_with_parent(signum: int = signal.SIGKILL, expected_parent: int | None = None) -> None:
    """Ask Linux to send `signum` to this process when its parent dies (a no-op elsewhere).

    If the parent is already gone (it died before the request was made) the process exits.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)


def watch_parent(grace_seconds: float, poll_seconds: float = 0.5) -> threading.Thread:
    """Stop this process gracefully when its parent dies, then kill its process group after the grace.

    The fallback for systems without a parent-death signal, and the deadline for a graceful
    stop that hangs (django-q2 #346).
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        logger.error(
            "worker cluster (pid %s): its parent (pid %s) is gone; stopping, killed in %gs if still running",
            os.getpid(),
            parent,
            grace_seconds,
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_seconds)
        os.killpg(os.getpgid(0), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sagaproject.settings")
    import django

    django.setup()
    from django_q import cluster as q_cluster

    from sagas.workers import healing

    watch_parent(float(os.environ.get("SAGA_WORKER_STOP_GRACE", "60")))
    # The cluster below starts its sentinel from this name: this process is ours alone.
    q_cluster.Sentinel = healing.HealingSentinel
    q_cluster.Cluster().start()


if __name__ == "__main__":
    main()
