"""Hands sagas to the worker cluster.

With django-q2's ORM broker on the `default` alias (our default), the queue row is written
in the caller's transaction: a checkpoint and its enqueue commit together or not at all, and
a delayed retry is a queue row that becomes visible at its time. With another broker the
enqueue waits for the commit and the recovery sweep covers what a crash loses.
"""

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.humanhash import uuid as task_uuid
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from django_q.tasks import async_task

from sagas.workers.broker import notify_queue, notifying, queue_key

RUN_SAGA = "sagas.tasks.run_saga"


def _uses_orm_broker() -> bool:
    return Conf.ORM is not None and Conf.ORM == "default"


def enqueue_saga(saga_id: uuid.UUID | str, delay_seconds: float = 0.0) -> None:
    """Queue one run of the saga, now or after a delay; call inside the checkpoint transaction."""
    saga_id = str(saga_id)
    enqueue_task(RUN_SAGA, (saga_id,), name=_saga_task_name(saga_id), delay_seconds=delay_seconds)


def saga_queue_row(saga_id: uuid.UUID | str, delay_seconds: float = 0.0) -> OrmQ | None:
    """The unsaved queue row of one run of the saga (see `orm_queue_row`)."""
    saga_id = str(saga_id)
    return orm_queue_row(RUN_SAGA, (saga_id,), name=_saga_task_name(saga_id), delay_seconds=delay_seconds)


def _saga_task_name(saga_id: str) -> str:
    return f"saga-{saga_id[:8]}"


def enqueue_task(func: str, args: tuple[Any, ...], *, name: str, delay_seconds: float = 0.0) -> None:
    """Queue `func(*args)`, now or after a delay, as a task called `name` plus a unique suffix.

    With the ORM broker on `default` the queue row is part of the caller's transaction on
    `default`, and so is its notification to listening workers (PostgreSQL delivers it at
    commit); with another broker it is sent when that transaction commits (no delay), and
    the recovery sweeps cover what a crash loses.
    """
    row = orm_queue_row(func, args, name=name, delay_seconds=delay_seconds)
    if row is None:
        # Redis and friends are outside our transaction (and at most once): kick on commit.
        transaction.on_commit(lambda: async_task(func, *args, task_name=name), using="default")
        return
    row.save(using="default")
    if notifying():
        # A delayed row notifies too: a waiting worker then knows when it falls due.
        notify_queue("default", row.key)


def orm_queue_row(func: str, args: tuple[Any, ...], *, name: str, delay_seconds: float = 0.0) -> OrmQ | None:
    """The unsaved ORM-broker row for this task; None when the broker is not the ORM broker on `default`.

    Its lock is its due time: a worker takes it once the lock has passed.
    """
    if not _uses_orm_broker():
        return None
    broker = get_broker()
    if not isinstance(broker, ORM):
        raise RuntimeError("Q_CLUSTER['orm'] is set but the broker is not the ORM broker.")
    suffix, task_id = task_uuid()
    package = {
        "id": task_id,
        "name": f"{name}-{suffix}",
        "func": func,
        "args": args,
        "kwargs": {},
        "ack_failure": True,
        "started": timezone.now(),
    }
    lock = timezone.now() + timedelta(seconds=max(delay_seconds, 0.0))
    return OrmQ(key=queue_key(broker.list_key), payload=SignedPackage.dumps(package), lock=lock)


def queued_saga_ids() -> set[str]:
    """Saga ids with a row waiting in the ORM queue (for tests and diagnostics)."""
    ids = set()
    for row in OrmQ.objects.using("default").all():
        task = SignedPackage.loads(row.payload)
        if task.get("func") == RUN_SAGA:
            ids.add(task["args"][0])
    return ids


def waiting_saga_ids() -> set[str]:
    """Saga ids whose queue row is due and not yet taken by a worker: waiting their turn, not lost.

    Only the ORM broker can be looked into; with another broker nothing is known to wait.
    A row a worker has taken has its lock pushed into the future, so it is not counted.
    """
    if not _uses_orm_broker():
        return set()
    ids = set()
    due = OrmQ.objects.using("default").filter(lock__lte=timezone.now()).values_list("payload", flat=True)
    for payload in due.iterator(chunk_size=2000):
        task = SignedPackage.loads(payload)
        if task.get("func") == RUN_SAGA:
            ids.add(task["args"][0])
    return ids


def new_worker_id() -> str:
    """A name for one run of a task, unique across hosts and processes."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claimed_at(lock: datetime, payload: str) -> datetime | None:
    """When a worker cluster claimed this row (its lock is the claim time plus `retry`), or None if unclaimed.

    A row enqueued with a delay also has its lock in the future, but less than `retry` after
    it was queued; a claim always pushes the lock a full `retry` past the claim.
    """
    started = SignedPackage.loads(payload).get("started")
    claimed = lock - timedelta(seconds=Conf.RETRY)
    if started is None or claimed < started - timedelta(seconds=1):
        return None
    return claimed


def release_orphaned_claims(grace_seconds: float = 5.0) -> list[int]:
    """Hand back at once the queue rows claimed by a worker or cluster that is gone; their ids.

    django-q2 keeps a claimed row locked for `retry` seconds (Q_RETRY) after the claim, and
    only then gives it to another worker, even when the worker that took it died at once.
    Every cluster started by run_workers says in its heartbeat which rows its processes hold
    (queued in memory or running), so a row claimed more than `grace_seconds` ago that no
    live cluster holds belongs to a process that is gone, and its lock is set to now. When a
    live cluster publishes no heartbeat (a plain `qcluster`), nothing is released: what it
    holds is unknown. A second run of a task that did start is harmless: the engine's lease
    and fencing decide what runs.
    """
    if not _uses_orm_broker():
        return []
    from sagas.workers import heartbeat as cluster_state

    beats, plain = cluster_state.live_clusters()
    if plain:
        return []
    in_hand = {row for beat in beats for row in beat.in_hand}
    now = timezone.now()
    released = []
    rows = OrmQ.objects.using("default").filter(lock__gt=now).values_list("id", "lock", "payload")
    for row_id, lock, payload in rows.iterator(chunk_size=500):
        claimed = _claimed_at(lock, payload)
        if row_id in in_hand or claimed is None or claimed > now - timedelta(seconds=grace_seconds):
            continue
        # Compare-and-set on the lock, as django-q2 claims: a row claimed again meanwhile is left alone.
        if OrmQ.objects.using("default").filter(id=row_id, lock=lock).update(lock=now):
            released.append(row_id)
    if released and notifying():
        notify_queue("default")
    return released
