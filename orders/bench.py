"""The order saga as the benchmarks run it: bench_sagas's workload and bench_admin's fill.

bench_sagas seeds customers and products, places orders and, for its baseline, runs
`baseline_order`: the saga's participant calls as one plain task. With --cancel-rate it cancels
some of the confirmed orders as their customers would (`cancel_order`), which starts the order
cancellation saga. The fill writes an order,
its stock and its payment per synthetic saga, consistent with its participants' rows (an
approved order with its payment and committed reservation, or a cancelled order with its
released reservation), so `check_consistency` has real work to do and finds nothing wrong.
Both are registered by OrdersConfig.ready().
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connections, transaction
from django.db.models import F

from inventory import services as inventory
from inventory.models import Product
from orders import services as orders
from orders.cancellation import CancellationRefused, CancelPath, cancellation_request
from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.models import Order
from orders.placement import order_place
from orders.saga import ORDER_SAGA
from payments import services as payments
from payments.models import CustomerAccount
from sagas.bench.fill import FillScope, FillWorkload, Outcome, PlannedSaga, copy_rows
from sagas.bench.run import CancelWorkload, RunWorkload
from sagas.models import SagaInstance
from sagas.participant.refusals import BusinessRefusal

PRICE = Decimal("10.00")
RICH = Decimal("1000000.00")
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
    definition_name=ORDER_SAGA.name,
    steps=STEPS_OK,
    failure="charge_payment: InsufficientFunds: Insufficient funds",
    open=open_fill,
)


@dataclass
class OrderBenchData:
    """The customers and products of one bench_sagas run."""

    customers: list[str]
    poor_customers: list[str]
    skus: list[str]


def seed(sagas: int, contended: bool, run: str) -> OrderBenchData:
    """Customers and products for one run; keys are spread so rows are not contended unless asked."""
    spread = max(sagas // 4, 1) if not contended else 2
    customers, skus = [], []
    for number in range(spread):
        customer = f"bench-{run}-c{number}"
        payments.account_open(customer, RICH)
        customers.append(customer)
        sku = f"BENCH-{run}-{number}"
        inventory.product_register(sku, f"Bench item {number}", PRICE, 10 * sagas)
        skus.append(sku)
    poor = []
    # Customers who cannot pay: the orders aimed at them are refused and compensated.
    for number in range(max(spread // 4, 1)):
        customer = f"bench-{run}-poor{number}"
        payments.account_open(customer, "1.00")
        poor.append(customer)
    return OrderBenchData(customers, poor, skus)


def order_input(data: OrderBenchData, rng: random.Random, fail_rate: float) -> dict[str, Any]:
    failing = rng.random() < fail_rate
    customer = rng.choice(data.poor_customers if failing else data.customers)
    return {"customer": customer, "sku": rng.choice(data.skus), "quantity": 1}


def start_order(style: str, order: dict[str, Any]) -> str:
    saga, _ = order_place(style=style, **order)
    return str(saga.pk)


def baseline_input(order: dict[str, Any], key: str) -> dict[str, Any]:
    return {**order, "order_id": key}


def baseline_order(order: dict[str, Any]) -> str:
    """One order as a plain task: the saga's participant calls in order, compensating on a refusal."""
    order_id = order["order_id"]
    key = f"baseline:{order_id}"
    undo: list[Callable[[], Any]] = []
    try:
        orders.order_create(
            key=f"{key}:create",
            order_id=order_id,
            customer=order["customer"],
            lines=[{"sku": order["sku"], "quantity": order["quantity"], "unit_price": str(PRICE)}],
        )
        undo.append(lambda: orders.order_cancel(key=f"{key}:cancel", create_key=f"{key}:create"))
        inventory.stock_reserve(key=f"{key}:reserve", order_id=order_id, sku=order["sku"], quantity=order["quantity"])
        undo.append(lambda: inventory.reservation_release(key=f"{key}:release", reserve_key=f"{key}:reserve"))
        payments.payment_charge(
            key=f"{key}:charge", order_id=order_id, customer=order["customer"], amount=PRICE * order["quantity"]
        )
        orders.order_approve(key=f"{key}:approve", order_id=order_id)
        inventory.reservation_commit(key=f"{key}:commit", reserve_key=f"{key}:reserve")
        return "completed"
    except BusinessRefusal:
        for compensation in reversed(undo):
            compensation()
        return "compensated"


def orders_settled(order_ids: list[str]) -> int:
    """Baseline orders approved or cancelled so far."""
    return Order.objects.using("orders").filter(pk__in=order_ids).exclude(status=Order.Status.PENDING).count()


def cancel_order(saga_id: str) -> str | None:
    """Cancel the order a completed placement saga placed, as its customer would; the cancellation saga's id."""
    placement = SagaInstance.objects.get(pk=saga_id)
    try:
        started = cancellation_request(
            placement.business_key, customer=placement.party, actor="bench_sagas", reason="benchmark"
        )
    except CancellationRefused:
        return None
    # A confirmed order is cancelled by a saga of its own; any other path is not what is measured.
    return str(started.saga.pk) if started.path == CancelPath.CANCELLATION and started.created else None


ORDER_RUN = RunWorkload(
    definition_name=ORDER_SAGA.name,
    seed=seed,
    saga_input=order_input,
    start=start_order,
    baseline_task="orders.bench.baseline_order",
    baseline_input=baseline_input,
    settled=orders_settled,
    cancel=CancelWorkload(definition_name=CANCELLATION_SAGA, start=cancel_order),
)
