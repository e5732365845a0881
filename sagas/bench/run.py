"""Measuring the saga engine against a plain django-q2 baseline doing the same service calls.

The baseline task calls the participants in the saga's order, with the same idempotency keys
and the same compensations on a refusal, but keeps no saga state: no leases, step logs,
checkpoints or enqueues. The difference between the two is the engine's bookkeeping.
"""

import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.models import Count, Min
from django_q.tasks import async_task

from inventory import services as inventory
from orders import services as orders
from orders.models import Order
from orders.placement import order_place
from payments import services as payments
from sagaproject.databases import SERVICE_ALIASES
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStepLog
from sagas.participant.refusals import BusinessRefusal

PRICE = Decimal("10.00")
RICH = Decimal("1000000.00")


@dataclass
class BenchData:
    run: str
    customers: list[str]
    poor_customers: list[str]
    skus: list[str]


def prepare_data(sagas: int, contended: bool, run: str | None = None) -> BenchData:
    """Customers and products for one run; keys are spread so rows are not contended unless asked."""
    run = run or uuid.uuid4().hex[:6]
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
    for number in range(max(spread // 4, 1)):
        customer = f"bench-{run}-poor{number}"
        payments.account_open(customer, "1.00")
        poor.append(customer)
    return BenchData(run, customers, poor, skus)


def order_input(data: BenchData, rng: random.Random, fail_rate: float) -> dict[str, Any]:
    failing = rng.random() < fail_rate
    customer = rng.choice(data.poor_customers if failing else data.customers)
    return {"customer": customer, "sku": rng.choice(data.skus), "quantity": 1}


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


def enqueue_baseline(order: dict[str, Any], tag: str) -> None:
    async_task("sagas.bench.run.baseline_order", order, group=tag, task_name=f"baseline-{order['order_id'][:8]}")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r{label:<12} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()
    if done >= total:
        sys.stderr.write("\n")


def worker_rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def pg_commits() -> int | None:
    """Committed transactions in the database so far (PostgreSQL only)."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


@dataclass
class RoundResult:
    kind: str
    count: int
    seconds: float
    enqueue_seconds: float


@dataclass
class BenchReport:
    sagas: int
    style: str
    workers: int
    broker: str
    backend: str
    fail_rate: float
    contended: bool
    sagas_per_second: float = 0.0
    enqueue_per_second: float = 0.0
    e2e_p50_ms: float = 0.0
    e2e_p95_ms: float = 0.0
    e2e_p99_ms: float = 0.0
    exec_p50_ms: float = 0.0
    exec_p99_ms: float = 0.0
    commits_per_saga: float | None = None
    queries_per_saga: float | None = None
    queries_source: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)
    baseline_per_second: float | None = None
    ratio_to_baseline: float | None = None
    worker_rss_start_kib: int | None = None
    worker_rss_end_kib: int | None = None
    consistency_violations: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def saga_latencies(saga_ids: list[str]) -> tuple[list[float], list[float]]:
    """End-to-end (creation to terminal) and execution (first step to terminal) latencies in ms."""
    e2e, execution = [], []
    first_step = dict(
        SagaStepLog.objects.filter(saga_id__in=saga_ids)
        .values("saga_id")
        .annotate(first=Min("started_at"))
        .values_list("saga_id", "first")
    )
    for saga_id, created, finished in SagaInstance.objects.filter(pk__in=saga_ids).values_list(
        "pk", "created_at", "finished_at"
    ):
        if finished is None:
            continue
        e2e.append((finished - created).total_seconds() * 1000)
        started = first_step.get(saga_id)
        if started is not None:
            execution.append((finished - started).total_seconds() * 1000)
    return e2e, execution


def outcome_counts(saga_ids: list[str]) -> dict[str, int]:
    rows = SagaInstance.objects.filter(pk__in=saga_ids).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def wait_for_sagas(saga_ids: list[str], timeout: float, label: str = "sagas") -> None:
    deadline = time.monotonic() + timeout
    total = len(saga_ids)
    while True:
        active = SagaInstance.objects.filter(pk__in=saga_ids, status__in=ACTIVE_STATUSES).count()
        progress(total - active, total, label)
        if active == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{active} of {total} sagas still running after {timeout:.0f}s")
        time.sleep(0.2)


def wait_for_orders_settled(order_ids: list[str], timeout: float, label: str = "baseline") -> None:
    """Wait until every baseline order is approved or cancelled (works with any broker)."""
    deadline = time.monotonic() + timeout
    total = len(order_ids)
    while True:
        settled = Order.objects.using("orders").filter(pk__in=order_ids).exclude(status=Order.Status.PENDING).count()
        progress(settled, total, label)
        if settled >= total:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{total - settled} baseline orders unsettled after {timeout:.0f}s")
        time.sleep(0.05)


def place_sagas(
    data: BenchData, count: int, style: str, fail_rate: float, rng: random.Random
) -> tuple[list[str], float]:
    ids = []
    started = time.monotonic()
    for number in range(count):
        order = order_input(data, rng, fail_rate)
        chosen = style if style != "mixed" else ("orchestration" if number % 2 == 0 else "choreography")
        saga, _ = order_place(style=chosen, **order)
        ids.append(str(saga.pk))
    return ids, time.monotonic() - started


def place_one_by_one(
    data: BenchData, count: int, style: str, fail_rate: float, rng: random.Random, timeout: float
) -> tuple[list[str], float]:
    """Each order placed only when the one before has finished, so each saga has the workers to itself."""
    ids: list[str] = []
    placing = 0.0
    for number in range(count):
        started = time.monotonic()
        placed, seconds = place_sagas(data, 1, style, fail_rate, rng)
        placing += seconds
        deadline = started + timeout
        while SagaInstance.objects.filter(pk=placed[0], status__in=ACTIVE_STATUSES).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"saga {placed[0]} still running after {timeout:.0f}s")
            time.sleep(0.01)
        ids.extend(placed)
        progress(number + 1, count, "one by one")
    return ids, placing


def run_baseline(data: BenchData, count: int, fail_rate: float, rng: random.Random, timeout: float) -> RoundResult:
    started = time.monotonic()
    order_ids = []
    for _ in range(count):
        order = order_input(data, rng, fail_rate)
        order["order_id"] = str(uuid.uuid4())
        order_ids.append(order["order_id"])
        enqueue_baseline(order, f"bench-{data.run}")
    enqueued = time.monotonic() - started
    wait_for_orders_settled(order_ids, timeout)
    return RoundResult("baseline", count, time.monotonic() - started, enqueued)


def pg_statement_calls() -> int | None:
    """Statements the database has run so far, when PostgreSQL loads pg_stat_statements; else None."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    try:
        with transaction.atomic(using="default"), connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            return int(cursor.fetchone()[0])
    except DatabaseError:
        return None


def queries_per_saga(data: BenchData, style: str, samples: int = 20) -> tuple[float | None, str]:
    """Queries on every alias per saga, counted in this process over a small sample run inline."""
    from django.conf import settings

    if settings.Q_BROKER != "orm":
        return None, "sampled with the ORM broker only"
    return round(mean_queries_per_saga(data, style, samples), 1), f"counted over {samples} sagas run inline"


def mean_queries_per_saga(data: BenchData, style: str, samples: int = 20) -> float:
    """Queries on every alias per saga, counted in this process over a small in-process sample."""
    from django.test.utils import CaptureQueriesContext

    from sagas.testing.drain import drain

    aliases = ("default", *SERVICE_ALIASES)
    contexts = [CaptureQueriesContext(connections[alias]) for alias in aliases]
    rng = random.Random(1)
    for context in contexts:
        context.__enter__()
    try:
        for _ in range(samples):
            order_place(style="orchestration" if style == "mixed" else style, **order_input(data, rng, 0))
        drain()
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    return sum(len(context.captured_queries) for context in contexts) / samples


def summarise(report: BenchReport, saga_ids: list[str], elapsed: float, enqueue_seconds: float) -> None:
    e2e, execution = saga_latencies(saga_ids)
    report.sagas_per_second = round(len(saga_ids) / elapsed, 1) if elapsed else 0.0
    report.enqueue_per_second = round(len(saga_ids) / enqueue_seconds, 1) if enqueue_seconds else 0.0
    report.e2e_p50_ms = round(statistics.median(e2e), 1) if e2e else 0.0
    report.e2e_p95_ms = round(percentile(e2e, 95), 1)
    report.e2e_p99_ms = round(percentile(e2e, 99), 1)
    report.exec_p50_ms = round(statistics.median(execution), 1) if execution else 0.0
    report.exec_p99_ms = round(percentile(execution, 99), 1)
    report.outcomes = outcome_counts(saga_ids)
