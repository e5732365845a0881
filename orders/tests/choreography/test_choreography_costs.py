"""What each style costs per order: queued tasks, events, queries per database, and latency.

The figures are printed (run with -s) for the README's comparison; the assertions pin the
counts that follow from the design, so a change that adds work per saga shows up here.
"""

import statistics
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from inventory.models import OutboxEvent as InventoryOutbox
from inventory.tests.factories import ProductFactory
from orders.models import OutboxEvent as OrderOutbox
from orders.placement import order_place
from payments.models import OutboxEvent as PaymentOutbox
from payments.tests.factories import AccountFactory
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus
from sagas.testing.choreography import outbox_backlog
from sagas.testing.cluster import WorkerCluster, wait_until

ALIASES = ("default", "orders", "inventory", "payments")


def run_queue_counting() -> tuple[int, Counter]:
    """Run queued tasks in this process, counting the queries each task makes per database.

    The relay runs on commit (the test is transactional), as in a worker; taking a row off
    the queue and acknowledging it are the broker's cost and are not counted.
    """
    tasks, queries = 0, Counter()
    while (row := OrmQ.objects.using("default").order_by("lock", "id").first()) is not None:
        task = SignedPackage.loads(row.payload)
        row.delete()
        captures = [CaptureQueriesContext(connections[alias]) for alias in ALIASES]
        for capture in captures:
            capture.__enter__()
        try:
            import_string(task["func"])(*task["args"], **task.get("kwargs", {}))
        finally:
            for capture in captures:
                capture.__exit__(None, None, None)
        for alias, capture in zip(ALIASES, captures, strict=True):
            queries[alias] += len(capture)
        tasks += 1
    return tasks, queries


def place_counting(style: str, customer: str, quantity: int) -> Counter:
    captures = {alias: CaptureQueriesContext(connections[alias]) for alias in ALIASES}
    for capture in captures.values():
        capture.__enter__()
    try:
        order_place(customer=customer, sku="WIDGET-1", quantity=quantity, style=style)
    finally:
        for capture in captures.values():
            capture.__exit__(None, None, None)
    return Counter({alias: len(capture) for alias, capture in captures.items()})


def events_published() -> int:
    return sum(
        model.objects.using(alias).count()
        for model, alias in (
            (OrderOutbox, "orders"),
            (InventoryOutbox, "inventory"),
            (PaymentOutbox, "payments"),
        )
    )


@pytest.mark.django_db(databases="__all__", transaction=True)
@pytest.mark.parametrize(
    ("style", "customer", "quantity", "status", "tasks", "events", "on_default"),
    [
        # On PostgreSQL each move of the saga (and the queue row with it) is one statement
        # (sagas.engine.store): the claim's read and one statement per step, not BEGIN, three
        # or four writes and COMMIT; the monitor's record of an event is a read and one statement.
        ("orchestration", "alice", 2, SagaStatus.COMPLETED, 1, 0, {"sqlite": 34, "postgresql": 9}),
        # One task: the worker delivers the events its handlers publish itself, queue-free.
        # The monitor names the delivery run on the saga in the writes it makes anyway
        # (sagas.choreography.monitor.delivery_run): no statement on `default` for it in a run that ends well.
        ("choreography", "alice", 2, SagaStatus.COMPLETED, 1, 5, {"sqlite": 31, "postgresql": 17}),
        ("orchestration", "bob", 2, SagaStatus.COMPENSATED, 1, 0, {"sqlite": 34, "postgresql": 9}),
        ("choreography", "bob", 2, SagaStatus.COMPENSATED, 1, 6, {"sqlite": 36, "postgresql": 19}),
    ],
    ids=["orchestration-completed", "choreography-completed", "orchestration-declined", "choreography-declined"],
)
def test_work_per_saga(style, customer, quantity, status, tasks, events, on_default):
    AccountFactory(customer="alice", balance=Decimal("1000.00"))
    AccountFactory(customer="bob", balance=Decimal("10.00"))
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=10)
    placed = place_counting(style, customer, quantity)
    ran, queries = run_queue_counting()
    saga = SagaInstance.objects.get()
    total = sum(queries.values()) + sum(placed.values())
    print(
        f"\n{style} {status}: {ran} task(s), {events_published()} event(s) published, {total} queries "
        f"(placing {dict(placed)}; workers {dict(queries)})"
    )
    assert saga.status == status
    assert ran == tasks
    assert events_published() == events
    assert outbox_backlog() == 0, "an event delivered in the task is still marked pending"
    assert queries["default"] + placed["default"] == on_default[connections["default"].vendor]
    assert "deliveries" not in saga.context, "a delivery run that ended is still named on the saga"
    # Ceilings with some room: more work per saga than this is a regression to look at.
    assert total < (100 if style == "orchestration" else 160)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_latency_of_one_order_at_a_time_through_a_real_cluster():
    AccountFactory(customer="alice", balance=Decimal("100000.00"))
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("1.00"), stock_on_hand=10_000)
    latencies: dict[str, list[float]] = {"orchestration": [], "choreography": []}
    with WorkerCluster(workers=2):
        order_place(customer="alice", sku="WIDGET-1", quantity=1, style="orchestration")  # warm the workers up
        time.sleep(3)
        for style in ["orchestration", "choreography"] * 8:
            saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1, style=style)
            wait_until(
                lambda saga=saga: not SagaInstance.objects.filter(pk=saga.pk, status__in=ACTIVE_STATUSES).exists(),
                timeout=60,
                interval=0.02,
                what=f"{style} saga to finish",
            )
            saga.refresh_from_db()
            assert saga.status == SagaStatus.COMPLETED
            latencies[style].append((saga.finished_at - saga.created_at).total_seconds())
    for style, values in latencies.items():
        print(
            f"\n{style}: median {statistics.median(values) * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms over {len(values)} orders"
        )
    assert max(latencies["choreography"]) < 20
