"""Workers that wake on commit, through a real `manage.py qcluster` with a long poll.

Each probe task is queued just after the worker took the one before, when the pusher has
just found the queue empty: a pusher that only polls then sees the new task a whole poll
later, a listening one at once. Times are the database's (clock_timestamp()): the commit of
the enqueue and the start of the task in the worker.
"""

import uuid
from datetime import datetime

import pytest
from django.core.cache import caches
from django.db import connection, transaction

from sagas.engine.queue import enqueue_task, orm_queue_row
from sagas.testing.cluster import WorkerCluster, wait_until
from sagas.workers.broker import LISTENER_NAME

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POLL = 5.0
PROBE = f"{__name__}.record_start"
STARTED = "broker-probe-started:"


def record_start(label: str) -> None:
    """The probe task: note when a worker started it, by the database's clock."""
    caches["cluster"].set(f"{STARTED}{label}", _database_now(), 600)


def _database_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _started(label: str) -> datetime | None:
    return caches["cluster"].get(f"{STARTED}{label}")


def _enqueue(label: str, *, notify: bool = True, delay: float = 0.0) -> datetime:
    """Queue the probe as the engine queues a saga; the database's time at the commit."""
    with transaction.atomic():
        if notify:
            enqueue_task(PROBE, (label,), name="probe", delay_seconds=delay)
        else:  # a row written without its notification: a lost NOTIFY
            orm_queue_row(PROBE, (label,), name="probe", delay_seconds=delay).save(using="default")
    return _database_now()


def _run(label: str, timeout: float = 4 * POLL, **enqueue: float | bool) -> float:
    """Queue the probe and wait for a worker to start it; seconds from the commit to the start."""
    at = _enqueue(label, **enqueue)
    wait_until(lambda: _started(label) is not None, timeout=timeout, interval=0.02, what=f"probe {label} to start")
    return (_started(label) - at).total_seconds()


def _latencies(count: int, **enqueue: float | bool) -> list[float]:
    """`count` probes, each queued when the pusher has just found the queue empty."""
    _run(f"warm-up-{uuid.uuid4().hex}", timeout=120)  # the cluster may still be starting
    return [_run(uuid.uuid4().hex, **enqueue) for _ in range(count)]


def _listeners() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
            [LISTENER_NAME],
        )
        return {pid for (pid,) in cursor.fetchall()}


def _cluster(**env: str) -> WorkerCluster:
    return WorkerCluster(workers=1, env={"Q_POLL": str(POLL), **env})


def test_a_task_queued_while_the_workers_idle_starts_on_the_notification_not_the_poll():
    with _cluster():
        latencies = _latencies(3)
        assert len(_listeners()) == 1
    print("wake latencies with LISTEN:", [f"{seconds * 1000:.0f} ms" for seconds in latencies])
    assert max(latencies) < POLL / 2


def test_without_listening_the_same_task_waits_for_the_poll():
    with _cluster(Q_LISTEN="0"):
        latencies = _latencies(3)
        assert _listeners() == set()
    print("wake latencies polling only:", [f"{seconds * 1000:.0f} ms" for seconds in latencies])
    assert min(latencies) > POLL / 2


def test_a_lost_notification_costs_one_poll_not_the_task():
    with _cluster():
        latencies = _latencies(2, notify=False)
    print("wake latencies without NOTIFY:", [f"{seconds * 1000:.0f} ms" for seconds in latencies])
    assert all(POLL / 2 < seconds < POLL + 3 for seconds in latencies)


def test_a_delayed_task_starts_when_it_falls_due_not_at_the_next_poll():
    with _cluster():
        latencies = _latencies(2, delay=1.0)
    print("delayed 1 s, started after:", [f"{seconds * 1000:.0f} ms" for seconds in latencies])
    # The row falls due 1 s after its enqueue began, a moment before its commit.
    assert all(0.9 < seconds < 1.0 + POLL / 2 for seconds in latencies)


def test_a_killed_listen_connection_is_replaced_and_notifications_wake_the_workers_again():
    with _cluster() as cluster:
        _latencies(1)
        [first] = _listeners()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first])
        wait_until(lambda: len(_listeners() - {first}) == 1, timeout=2 * POLL, what="a new LISTEN connection")
        latencies = _latencies(3)
    print("wake latencies after the kill:", [f"{seconds * 1000:.0f} ms" for seconds in latencies])
    assert max(latencies) < POLL / 2
    log = cluster.log()
    assert log.count("lost its LISTEN connection") == 1, log
    assert log.count("listening again") == 1, log
