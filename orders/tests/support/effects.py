"""Checks shared by the crash tests: effects applied once, attempts never overlapping.

They read the participants' own tables directly, independently of the engine's view, so a
bug in the step protocol cannot hide itself.
"""

from collections import defaultdict
from collections.abc import Iterable
from itertools import pairwise

from django.db.models import Count

from inventory.models import Product, Reservation, StockMovement
from orders.models import Order
from payments.models import LedgerEntry, Payment, Refund
from sagas.models import Direction, SagaStepLog, StepStatus


def _repeated(queryset, *fields: str) -> list[dict]:
    return list(queryset.values(*fields).annotate(n=Count("id")).filter(n__gt=1).order_by())


def duplicate_effects() -> list[str]:
    """Every participant effect that was applied more than once, described; [] when none was."""
    problems = []
    for row in _repeated(Order.objects.using("orders").filter(saga_id__isnull=False), "saga_id"):
        problems.append(f"saga {row['saga_id']}: {row['n']} orders created")
    for row in _repeated(Payment.objects.using("payments"), "order_id"):
        problems.append(f"order {row['order_id']}: {row['n']} payments taken")
    for row in _repeated(Refund.objects.using("payments"), "payment_id"):
        problems.append(f"payment {row['payment_id']}: {row['n']} refunds")
    for row in _repeated(LedgerEntry.objects.using("payments").filter(payment__isnull=False), "payment_id", "kind"):
        problems.append(f"payment {row['payment_id']}: {row['n']} {row['kind']} ledger entries")
    for row in _repeated(Reservation.objects.using("inventory"), "order_id"):
        problems.append(f"order {row['order_id']}: {row['n']} reservations")
    movements = StockMovement.objects.using("inventory").filter(reservation__isnull=False)
    for row in _repeated(movements, "reservation_id", "kind"):
        problems.append(f"reservation {row['reservation_id']}: {row['n']} {row['kind']} movements")
    return problems


def overlapping_attempts(saga_ids: Iterable[str] | None = None) -> list[str]:
    """Participant calls of one saga that ran at the same time; [] when every call waited its turn.

    A call still marked RUNNING counts as running forever, so an attempt that never
    reported back overlaps whatever the saga did after it.
    """
    logs = SagaStepLog.objects.filter(direction__in=[Direction.FORWARD, Direction.COMPENSATION])
    if saga_ids is not None:
        logs = logs.filter(saga_id__in=list(saga_ids))
    by_saga: dict[str, list[SagaStepLog]] = defaultdict(list)
    for log in logs.order_by("saga_id", "started_at", "id"):
        by_saga[str(log.saga_id)].append(log)
    problems = []
    for saga_id, attempts in by_saga.items():
        for earlier, later in pairwise(attempts):
            if earlier.finished_at is None or later.started_at < earlier.finished_at:
                problems.append(
                    f"saga {saga_id}: {earlier.step_name} #{earlier.attempt} on {earlier.worker} "
                    f"({earlier.status}) overlaps {later.step_name} #{later.attempt} on {later.worker}"
                )
    return problems


def unfinished_attempts() -> list[SagaStepLog]:
    """Step-log rows still marked RUNNING."""
    return list(SagaStepLog.objects.filter(status=StepStatus.RUNNING))


def lowest_stock_seen(sku: str) -> int:
    """The smallest stock on hand the product ever had, replaying its movements in order."""
    product = Product.objects.using("inventory").get(sku=sku)
    level, levels = 0, []
    for quantity in product.movements.order_by("id").values_list("quantity", flat=True):
        level += quantity
        levels.append(level)
    return min(levels, default=0)


def saga_stories(saga_ids: Iterable[str | None]) -> str:
    """The step log of each saga, one line per attempt, to explain a failed check."""
    lines = []
    for saga_id in sorted({s for s in saga_ids if s}):
        lines.append(f"saga {saga_id}:")
        for log in SagaStepLog.objects.filter(saga_id=saga_id).order_by("started_at", "id"):
            lines.append(
                f"  {log.started_at:%H:%M:%S.%f} {log.direction:<12} {log.step_name:<15} #{log.attempt} "
                f"{log.status:<10} {log.worker} {log.error_message or log.reason}"
            )
    return "\n".join(lines)
