"""Checks shared by the order saga's crash tests: effects applied once, stock never below zero.

They read the participants' own tables directly, independently of the engine's view, so a
bug in the step protocol cannot hide itself. The engine's own checks (attempts never
overlapping, none left running) are in `sagas.tests.attempts`.
"""

from django.db.models import Count

from inventory.models import Product, Reservation, StockMovement
from orders.models import Order
from payments.models import LedgerEntry, Payment, Refund


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


def lowest_stock_seen(sku: str) -> int:
    """The smallest stock on hand the product ever had, replaying its movements in order."""
    product = Product.objects.using("inventory").get(sku=sku)
    level, levels = 0, []
    for quantity in product.movements.order_by("id").values_list("quantity", flat=True):
        level += quantity
        levels.append(level)
    return min(levels, default=0)
