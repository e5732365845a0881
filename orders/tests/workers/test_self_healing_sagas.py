"""Orders of both styles through `run_workers` alone, while its workers are killed, frozen and cut off.

Nothing outside run_workers helps: no external restart, no sweep run by the test. The
cluster runs with django-q2's default `retry` lease (Q_RETRY, 300 s), so a saga that
finishes within the bounds below did not wait for it. Real processes, real signals,
PostgreSQL; every check reads the participants' own tables.
"""

import random
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.models import Count
from django.utils import timezone
from django_q.models import OrmQ

from inventory.fault_points import InventoryFault
from inventory.tests.factories import ProductFactory
from orders.placement import order_place
from orders.tests.support.effects import duplicate_effects
from payments.tests.factories import AccountFactory
from sagas.choreography.monitor import DELIVERIES
from sagas.consistency import find_violations
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.testing.cluster import Kill, SupervisedWorkers, WorkerState, wait_until
from sagas.tests.attempts import saga_stories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.chaos,
    pytest.mark.django_db(databases="__all__", transaction=True),
]

# run_workers' thresholds at test speed; leases of the step's timeout (10 s) plus one second.
RUN_WORKERS_ENV = {
    "HEALTH_QUEUE_STALL_SECONDS": "10",
    "WORKER_MISSING_SECONDS": "3",
    "WORKER_SWEEP_SECONDS": "2",
    "WORKER_RESTART_GRACE_SECONDS": "2",
    "SAGA_LEASE_MARGIN_SECONDS": "1",
    "CHOREOGRAPHY_IDLE_SECONDS": "8",
}
# Every saga is terminal this long after the last blow (the README's bound).
BOUND_SECONDS = 60


def shop(rng: random.Random, orders: int, styles: tuple[str, ...] = ("orchestration", "choreography")) -> list:
    customers = [AccountFactory(customer=f"heal{n}", balance=Decimal("500.00")).customer for n in range(30)]
    skus = [ProductFactory(sku=f"HEAL-{n}", unit_price=Decimal(10 + 5 * n), stock_on_hand=400).sku for n in range(5)]
    return [place(rng, customers, skus, styles) for _ in range(orders)]


def place(rng: random.Random, customers: list[str], skus: list[str], styles: tuple[str, ...]) -> SagaInstance:
    return order_place(
        customer=rng.choice(customers), sku=rng.choice(skus), quantity=rng.randint(1, 3), style=rng.choice(styles)
    )[0]


def all_terminal() -> bool:
    return not SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).exists()


def statuses() -> dict[str, int]:
    rows = SagaInstance.objects.values_list("style", "status").annotate(n=Count("id")).order_by()
    return {f"{style}/{status}": n for style, status, n in rows}


def terminate_cluster_connections() -> int:
    """pg_terminate_backend every connection to the test database but this process's own; how many."""
    own = set()
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own.add(cursor.fetchone()[0])
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND NOT (pid = ANY(%s))",
            [sorted(own)],
        )
        return cursor.fetchone()[0]


def assert_every_saga_finished_once() -> None:
    assert all_terminal(), statuses()
    assert not SagaInstance.objects.filter(status=SagaStatus.FAILED).exists(), statuses()
    violations = find_violations()
    assert violations == [], saga_stories(v.saga_id for v in violations)
    call_command("check_consistency", stdout=StringIO())  # exits 1 on any violation
    assert duplicate_effects() == []
    assert not SagaStepLog.objects.filter(status=StepStatus.RUNNING).exists()


def assert_kills_landed_where_claimed(kills: list[Kill]) -> None:
    """A kill in a step left that attempt ABANDONED; a kill of an idle worker abandoned nothing it had not lost.

    An idle worker may have lost attempts before: frozen past its lease earlier (its late answer
    fenced out before the kill), or a delivery run whose closing write the server's cut
    connection refused (the database still named it in flight at the kill, `Kill.stale_runs`).
    What the kill itself abandons is an attempt in flight at the kill instant: started before
    it, abandoned at or after it, by a run the worker was still in.
    """
    for kill in kills:
        by_it = SagaStepLog.objects.filter(worker__contains=f":{kill.pid}:")
        if kill.kind == WorkerState.IN_STEP:
            assert by_it.filter(saga_id=kill.saga_id, status=StepStatus.ABANDONED).exists(), kill
        elif kill.kind == WorkerState.IDLE:
            in_flight = by_it.filter(started_at__lte=kill.at, finished_at__gte=kill.at, status=StepStatus.ABANDONED)
            cut_by_the_kill = in_flight.exclude(worker__in=kill.stale_runs)
            assert not cut_by_the_kill.exists(), (kill, list(cut_by_the_kill.values()))


def stuck_report(run: SupervisedWorkers) -> str:
    """What holds the sagas that are not terminal: each saga, the queue's rows, the cluster, the log's tail."""
    now = timezone.now()
    lines = [f"at {now.isoformat()}; run_workers restarts {run.restarts()}; heartbeat {run.heartbeat()}"]
    for saga in SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).order_by("updated_at")[:25]:
        lease = f"{saga.lease_owner} until {saga.lease_expires_at:%H:%M:%S.%f}" if saga.lease_owner else "none"
        lines.append(
            f"saga {saga.pk} {saga.style} {saga.status} {saga.direction} step {saga.step_index} "
            f"{saga.current_step!r} attempt {saga.attempt}; lease {lease}; next_run_at {saga.next_run_at}; "
            f"updated {(now - saga.updated_at).total_seconds():.1f}s ago; deliveries "
            f"{saga.context.get(DELIVERIES)}; last_error {saga.last_error[:200]!r}"
        )
    for row in OrmQ.objects.using("default").order_by("lock")[:40]:
        try:
            func = row.func()
        except Exception as error:  # a row that cannot be read says why
            func = f"unreadable ({error})"
        lines.append(
            f"queue row {row.pk} {func} lock {row.lock:%H:%M:%S.%f} ({(row.lock - now).total_seconds():+.1f}s)"
        )
    lines.append("run_workers log, last lines:")
    lines.extend(run.log().splitlines()[-60:])
    return "\n".join(lines)


def run_until_terminal(run: SupervisedWorkers, last_blow: float, what: str) -> float:
    """Wait for every saga to be terminal within BOUND_SECONDS of `last_blow`; the seconds it took.

    On a timeout the error says what holds each saga that is not terminal (see stuck_report).
    """
    try:
        wait_until(all_terminal, timeout=last_blow + BOUND_SECONDS - time.monotonic(), interval=0.5, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{stuck_report(run)}") from None
    return time.monotonic() - last_blow


def test_idle_workers_and_workers_between_steps_killed_under_load_leave_no_saga_behind():
    rng = random.Random(2026_11_29)
    sagas = shop(rng, 60)
    customers = list({saga.context["input"]["customer"] for saga in sagas})
    skus = list({saga.context["input"]["sku"] for saga in sagas})
    kills: list[Kill] = []
    wanted = [WorkerState.IDLE, WorkerState.BETWEEN_STEPS] * 4
    with SupervisedWorkers(workers=2, env=RUN_WORKERS_ENV) as run:
        wait_until(lambda: len(run.worker_pids()) == 2, timeout=60, what="the cluster's first heartbeat")
        deadline = time.monotonic() + 90
        next_load = time.monotonic()
        while wanted and time.monotonic() < deadline:
            if time.monotonic() >= next_load and len(sagas) < 200:  # load keeps coming while workers die
                sagas.extend(place(rng, customers, skus, ("orchestration", "choreography")) for _ in range(4))
                next_load = time.monotonic() + 1.0
            kill = run.kill_worker(wanted[0], rng)
            if kill is not None:
                kills.append(kill)
                wanted.pop(0)
                time.sleep(rng.uniform(0.5, 2.0))
            else:
                time.sleep(0.05)
        last_kill = time.monotonic()
        took = run_until_terminal(run, last_kill, "every saga to finish after the last kill")
        log = run.log()
        restarts = run.restarts()
    print(
        f"\n{len(sagas)} sagas, kills {[(k.kind.value, k.pid) for k in kills]}; every saga terminal "
        f"{took:.1f}s after the last kill; {restarts} restarts; "
        f"{log.count('released the task que')} queue read locks released; "
        f"{log.count('handed back')} sweeps handing back a dead worker's tasks; {statuses()}"
    )
    assert [k.kind for k in kills].count(WorkerState.IDLE) == 4
    assert [k.kind for k in kills].count(WorkerState.BETWEEN_STEPS) == 4
    assert log.count("worker cluster (pid") >= 8, "each death was logged by the cluster"
    assert_kills_landed_where_claimed(kills)
    assert_every_saga_finished_once()


def test_a_choreographed_order_whose_delivery_worker_is_killed_finishes_within_the_bound_not_after_q_retry():
    rng = random.Random(3)
    AccountFactory(customer="chor", balance=Decimal("500.00"))
    ProductFactory(sku="CHOR-1", unit_price=Decimal("10.00"), stock_on_hand=100)
    from sagas.tests.factories import FaultRuleFactory

    # The delivery of the reservation's event holds its worker long enough to be caught in it.
    FaultRuleFactory(operation=InventoryFault.STOCK_RESERVE, mode="delay", phase="before", delay_seconds=4, remaining=1)
    with SupervisedWorkers(workers=2, env=RUN_WORKERS_ENV) as run:
        wait_until(lambda: len(run.worker_pids()) == 2, timeout=60, what="the cluster's first heartbeat")
        saga, _ = order_place(customer="chor", sku="CHOR-1", quantity=1, style="choreography")
        kill = None
        deadline = time.monotonic() + 20
        while kill is None and time.monotonic() < deadline:
            kill = run.kill_worker(WorkerState.BETWEEN_STEPS, rng)
            time.sleep(0.05 if kill is None else 0)
        assert kill is not None, "no worker was caught delivering the order's events"
        killed = time.monotonic()
        took = run_until_terminal(run, killed, "the order to finish")
        log = run.log()
    saga.refresh_from_db()
    print(f"\nthe order finished {took:.1f}s after its delivery's worker was killed (Q_RETRY is 300 s)")
    assert saga.status == SagaStatus.COMPLETED
    assert took < 30
    assert "dead worker" in log, "the sweep handed the killed worker's delivery back"
    events = SagaStepLog.objects.filter(saga=saga, direction=Direction.EVENT)
    assert events.exists()
    assert duplicate_effects() == []


def test_every_database_connection_terminated_again_and_again_the_cluster_reconnects_and_says_so_once_each_time():
    rng = random.Random(5)
    sagas = shop(rng, 30)
    customers = list({saga.context["input"]["customer"] for saga in sagas})
    skus = list({saga.context["input"]["sku"] for saga in sagas})
    rounds = []
    with SupervisedWorkers(workers=2, env=RUN_WORKERS_ENV) as run:
        wait_until(lambda: len(run.worker_pids()) == 2, timeout=60, what="the cluster's first heartbeat")
        for _ in range(4):
            for _ in range(15):
                sagas.append(place(rng, customers, skus, ("orchestration", "choreography")))
            time.sleep(rng.uniform(0.1, 0.6))  # while those orders run
            rounds.append(terminate_cluster_connections())
            time.sleep(4)
        last = time.monotonic()
        took = run_until_terminal(run, last, "every saga to finish after the last round")
        log = run.log()
    closed_lines = log.count("the connection is closed")
    lost, back = log.count("cannot publish its status"), log.count("publishing its status again")
    print(
        f"\n{len(sagas)} sagas; connections terminated per round {rounds}; terminal {took:.1f}s after the last; "
        f"sentinel logged the loss {lost} times and the recovery {back} times; "
        f"'the connection is closed' logged {closed_lines} times; {run.restarts()} restarts; {statuses()}"
    )
    assert all(rounds), "each round terminated the cluster's connections"
    # A round can land while the sentinel holds no connection, or one that Django's health check
    # replaces before use: nothing fails then, so nothing is logged. What must never happen is a
    # loss logged again and again, or a loss without its recovery.
    assert 1 <= lost <= len(rounds), "the loss is logged once per incident the sentinel met, never repeated"
    assert back == lost, "each logged loss is followed by exactly one recovery"
    assert "worker cluster (pid" in log.split("cannot publish its status")[0].rsplit("\n", 1)[-1], "names the process"
    assert closed_lines == 0, "no process repeats 'the connection is closed'"
    assert_every_saga_finished_once()
