"""A delivery harness for tests: runs queued tasks in this process, in order or shuffled.

Inside a test transaction the relay on commit never fires, so the harness relays pending
outbox rows itself, as the relay would right after each commit. Shuffled, it picks the next
task at random and relays at random moments, so events reach each subscriber in any order
their causes allow; with `duplicate`, every delivery runs twice, the copy at a later place.
"""

import random

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from sagas.choreography.flow import outboxes
from sagas.choreography.sweep import relay_pending
from sagas.engine.queue import RUN_SAGA
from sagas.models import SagaInstance
from sagas.participant.eventbus import DELIVER_EVENT_TASK, DELIVER_TASK


def outbox_backlog() -> int:
    """How many events wait in the services' outboxes for a relay."""
    return sum(len(outbox.pending(None)) for outbox in outboxes())


def drain_events(
    rng: random.Random | None = None,
    duplicate: bool = False,
    relay: bool = True,
    newest_first: bool = False,
    limit: int | None = None,
    max_tasks: int = 20_000,
) -> int:
    """Run queued tasks until neither the queue nor (with `relay`) any outbox holds work.

    Retries waiting for their backoff run at once, as if the clock had moved on. With
    `newest_first` the latest queued task runs first (a late event overtakes an early one);
    with `limit` at most that many tasks run. Returns how many tasks ran.
    """
    ran = 0
    copied: set[str] = set()
    while ran < max_tasks:
        if limit is not None and ran >= limit:
            return ran
        rows = list(OrmQ.objects.using("default").order_by("lock", "id"))
        backlog = outbox_backlog() if relay else 0
        if not rows and not backlog:
            return ran
        if backlog and (not rows or rng is None or rng.random() < 0.3):
            relay_pending(None)
            continue
        row = rng.choice(rows) if rng is not None else rows[-1] if newest_first else rows[0]
        task = SignedPackage.loads(row.payload)
        with transaction.atomic(using="default"):
            row.delete()
            if task["func"] == RUN_SAGA and row.lock > timezone.now():
                SagaInstance.objects.filter(pk=task["args"][0]).update(next_run_at=None)
            if duplicate and task["func"] in (DELIVER_EVENT_TASK, DELIVER_TASK) and task["id"] not in copied:
                copied.add(task["id"])
                OrmQ.objects.using("default").create(key=row.key, payload=row.payload, lock=row.lock)
        import_string(task["func"])(*task["args"], **task.get("kwargs", {}))
        ran += 1
    raise AssertionError(f"the queue did not drain within {max_tasks} tasks")
