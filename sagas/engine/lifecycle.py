"""Whether the worker cluster running this code has been told to stop, and handing a saga back.

A graceful stop of django-q2 (SIGTERM to the cluster's main process) sets the cluster's stop
event; the workers are not signalled and run whatever task they hold, plus the tasks already
in the cluster's memory, before they see the end of the queue. A saga task may keep running
steps for up to SAGA_TASK_BUDGET_SECONDS, so the stop could take that long per task. The
runner asks `cluster_stopping()` before it runs another step inline: once the cluster is
stopping it checkpoints the step it just ran and hands the saga back to the queue (lease
released, a fresh queue row committed with the checkpoint), and a task it takes after the
stop began is handed back without running anything. Another cluster, or this one when it
starts again, carries on from the database. Nothing is lost either way; this only makes the
stop quick (one step at most) instead of a budget's worth.

django-q2 gives workers no handle on the stop event, but its workers are forked from inside
the sentinel (`Sentinel.spawn_process`), whose frame stays on the worker's stack for the
worker's whole life. The event is found there once per process. Where that is not the case
(tests draining tasks in-process, a `spawn` start method, another django-q2 layout) no event
is found and the answer is always "not stopping": the old behaviour, never a wrong stop.
"""

import os
import sys
from typing import Any

from sagas.engine import store

_NOT_FOUND = object()
_found: dict[int, Any] = {}


def _find_stop_event() -> Any:
    try:
        from django_q.cluster import Sentinel
    except ImportError:  # pragma: no cover - django-q2 is a dependency
        return None
    frame = sys._getframe()
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Sentinel):
            return getattr(candidate, "stop_event", None)
        frame = frame.f_back
    return None


def cluster_stopping() -> bool:
    """True once the django-q2 cluster this worker process belongs to has been asked to stop."""
    pid = os.getpid()
    event = _found.get(pid, _NOT_FOUND)
    if event is _NOT_FOUND:
        event = _found[pid] = _find_stop_event()
    if event is None:
        return False
    try:
        return bool(event.is_set())
    except (OSError, ValueError):  # the cluster's semaphores are gone: it is going away
        return True


def hand_back(saga_id: str) -> str:
    """Queue the saga again without running it, for a worker that is shutting down."""
    store.enqueue(saga_id)
    return "handed back"
