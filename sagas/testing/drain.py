"""Helpers for tests that drive sagas without a worker cluster."""

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from sagas.models import SagaInstance


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
        import_string(task["func"])(*task["args"], **task.get("kwargs", {}))
        ran += 1
    raise AssertionError(f"the queue did not drain within {max_tasks} tasks")
