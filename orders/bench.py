"""The order saga as the benchmark fill writes it: an order, its stock and its payment per saga.

Each synthetic saga is consistent with its participants' rows (an approved order with its
payment and committed reservation, or a cancelled order with its released reservation), so
`check_consistency` has real work to do and finds nothing wrong. Registered by OrdersConfig.ready().
"""

from decimal import Decimal
from typing import Any

from django.db import connections, transaction
from django.db.models import F

from inventory import services as inventory
from inventory.models import Product
from payments import services as payments
from payments.models import CustomerAccount
from sagas.bench.fill import FillScope, FillWorkload, Outcome, PlannedSaga, copy_rows

PRICE = Decimal("10.00")
STEPS_OK = ("create_order", "reserve_stock", "charge_payment", "approve_order", "commit_stock")


def open_fill(run: str, total: int) -> FillScope:
    """A customer and a product for one fill's sagas, with enough stock for every one of them."""
    customer = f"fill-{run}"
    sku = f"FILL-{run}"
    payments.account_open(customer, "0")
    product = inventory.product_register(sku, "Filler item", PRICE, total)
    account = CustomerAccount.objects.using("payments").get(customer=customer)

    def saga_input(saga: PlannedSaga) -> dict[str, Any]:
        return {"order_id": str(saga.key), "customer": customer, "sku": sku}

    def write(plan: list[PlannedSaga]) -> dict[str, int]:
        return _write_rows(plan, customer=customer, sku=sku, product=product, account=account)

    return FillScope(party=customer, saga_input=saga_input, write=write)


def _write_rows(
    plan: list[PlannedSaga], *, customer: str, sku: str, product: Product, account: CustomerAccount
) -> dict[str, int]:
    """The order of every planned saga; the reservation, movement, payment and ledger row of each completed one."""
    written: dict[str, int] = {}
    completed = [saga for saga in plan if saga.outcome == Outcome.COMPLETED]

    def order_rows():
        for saga in plan:
            status = (
                "APPROVED"
                if saga.outcome == Outcome.COMPLETED
                else "CANCELLED"
                if saga.outcome == Outcome.COMPENSATED
                else "PENDING"
            )
            yield (saga.key, f"fill:{saga.key}", customer, status, PRICE, saga.saga_id, "", saga.created, saga.created)

    with transaction.atomic(using="orders"):
        written["orders"] = copy_rows(
            "orders",
            "orders_order",
            ("id", "key", "customer", "status", "total", "saga_id", "cancel_reason", "created_at", "updated_at"),
            order_rows(),
        )
        written["order_lines"] = copy_rows(
            "orders",
            "orders_orderline",
            ("order_id", "sku", "quantity", "unit_price", "line_total"),
            ((saga.key, sku, 1, PRICE, PRICE) for saga in plan),
        )
    # Completed sagas sold one unit and took one payment each, with the ledger rows that go with them.
    with transaction.atomic(using="inventory"):
        written["reservations"] = copy_rows(
            "inventory",
            "inventory_reservation",
            ("key", "order_id", "product_id", "quantity", "status", "created_at", "updated_at"),
            ((f"fill:{s.key}", s.key, product.pk, 1, "COMMITTED", s.created, s.created) for s in completed),
        )
        written["stock_movements"] = copy_rows(
            "inventory",
            "inventory_stockmovement",
            ("product_id", "kind", "quantity", "key", "created_at"),
            ((product.pk, "RESERVED", -1, f"fill:{s.key}", s.created) for s in completed),
        )
        Product.objects.using("inventory").filter(pk=product.pk).update(
            stock_on_hand=F("stock_on_hand") - len(completed)
        )
    if completed:
        payments.account_deposit(customer, PRICE * len(completed))
    with transaction.atomic(using="payments"):
        written["payments"] = copy_rows(
            "payments",
            "payments_payment",
            ("key", "account_id", "order_id", "amount", "status", "created_at", "updated_at"),
            ((f"fill:{s.key}", account.pk, s.key, PRICE, "CAPTURED", s.created, s.created) for s in completed),
        )
        with connections["payments"].cursor() as cursor:
            cursor.execute(
                "INSERT INTO payments_ledgerentry (account_id, kind, amount, payment_id, key, created_at) "
                "SELECT account_id, 'CHARGE', -amount, id, key, created_at FROM payments_payment WHERE account_id = %s",
                [account.pk],
            )
            written["ledger_entries"] = cursor.rowcount
        CustomerAccount.objects.using("payments").filter(pk=account.pk).update(
            balance=F("balance") - PRICE * len(completed)
        )
    return written


ORDER_FILL = FillWorkload(
    definition_name="order",
    steps=STEPS_OK,
    failure="charge_payment: InsufficientFunds: Insufficient funds",
    open=open_fill,
)
