"""Helpers for tests and measurements that drive sagas without a worker cluster."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.brokers import Broker, get_broker
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from sagas.models import SagaInstance
from sagas.workers.broker import ListenBroker


def drain(max_tasks: int = 10_000, fast_forward: bool = True) -> int:
    """Run queued tasks in this process, oldest first, until the queue is empty.

    With `fast_forward`, a retry waiting for its backoff runs at once, as if the clock had
    moved on. Returns how many tasks ran.
    """
    ran = 0
    while ran < max_tasks:
        now = timezone.now()
        rows = OrmQ.objects.using("default").order_by("lock", "id")
        if not fast_forward:
            rows = rows.filter(lock__lte=now)
        row = rows.first()
        if row is None:
            return ran
        task = SignedPackage.loads(row.payload)
        with transaction.atomic(using="default"):
            row.delete()
            if fast_forward and row.lock > now and task["func"] == "sagas.tasks.run_saga":
                SagaInstance.objects.filter(pk=task["args"][0]).update(next_run_at=None)
        _run(task)
        ran += 1
    raise AssertionError(f"the queue did not drain within {max_tasks} tasks")


def work(max_tasks: int = 10_000) -> int:
    """Run queued tasks in this process as a worker does: each taken and acknowledged through the broker.

    What a measurement counts here is what a worker's path runs: the cluster's broker claims
    each row (the listening broker's one claiming statement, or django-q2's read and
    compare-and-set) and acknowledges it after the task, as the cluster's monitor does. Rows
    not due yet (a retry's backoff) are then run by drain(), as if the clock had moved on.
    Returns how many tasks ran.
    """
    broker = get_broker()
    ran = 0
    while ran < max_tasks:
        taken = _take(broker)
        if not taken:
            return ran + (drain(max_tasks - ran) if taken is None else 0)
        for ack_id, payload in taken:
            _run(SignedPackage.loads(payload))
            broker.acknowledge(ack_id)
            ran += 1
    raise AssertionError(f"the queue did not drain within {max_tasks} tasks")


def _take(broker: Broker) -> list[tuple[int, str]] | None:
    """The rows a worker's pusher would take now; empty when none is queued, None when some may wait for later."""
    if isinstance(broker, ListenBroker):
        # The one statement its dequeue runs, without the LISTEN connection and the idle wait around it.
        tasks, due = broker._claim()
        return tasks or (None if due is not None else [])
    return broker.dequeue() or None


def _run(task: dict[str, Any]) -> None:
    import_string(task["func"])(*task["args"], **task.get("kwargs", {}))
