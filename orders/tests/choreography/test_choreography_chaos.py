"""Choreographed orders through real worker clusters whose workers are killed mid-flight.

A choreographed saga has no lease: a worker runs one delivery (one event to one service) at
a time, so a kill interrupts that delivery (django-q2 hands its queue row out again once
the broker's `retry` lease runs out) or the relay of the events its commit published (the
choreography sweep relays them). The test process plays the process supervisor and the
schedules: sagas.testing.cluster.Supervisor, plus the choreography sweep every two seconds.

Only a worker caught in the middle of a delivery is killed, never an idle one, and each kill
must leave the attempt it cut short ABANDONED in the step log, as test_chaos.py asserts. Where
both styles run, the kills land on workers running an orchestrated step (they hold its lease).
For choreography alone they land on workers that the saga monitor names on a saga as delivering
its events (sagas.choreography.monitor.delivery_run, the choreographed delivery's lease); once django-q2's
timeout has passed, the next delivery of that saga (the killed task coming back) logs the run
as cut short.
"""

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest
from django.db.models import Count
from django.utils import timezone

from inventory.fault_points import InventoryFault
from inventory.tests.factories import ProductFactory
from orders.fault_points import OrderFault
from orders.placement import order_place
from orders.tests.support.effects import duplicate_effects
from payments.fault_points import PaymentFault
from payments.tests.factories import AccountFactory
from sagas.choreography.monitor import DELIVERIES
from sagas.choreography.sweep import sweep as choreography_sweep
from sagas.consistency import find_violations
from sagas.models import (
    ACTIVE_STATUSES,
    Direction,
    SagaInstance,
    SagaStatus,
    SagaStepLog,
    SagaStyle,
    StepStatus,
)
from sagas.testing.cluster import Supervisor, WorkerCluster
from sagas.tests.factories import FaultRuleFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.chaos,
    pytest.mark.django_db(databases="__all__", transaction=True),
]

# Short leases for orchestrated sagas; for a killed worker's event delivery django-q2's own
# lease (`retry`) is what hands it out again, so it is short too (and the timeout below it).
CLUSTER_ENV = {"SAGA_LEASE_MARGIN_SECONDS": "1", "Q_RETRY": "20", "Q_TIMEOUT": "10", "SAGA_TASK_BUDGET_SECONDS": "5"}


def plant_faults() -> None:
    """Business refusals, transient errors before and after effects, and delays that keep workers busy."""
    for operation, probability in [(InventoryFault.STOCK_RESERVE, 0.05), (PaymentFault.PAYMENT_CHARGE, 0.05)]:
        FaultRuleFactory(operation=operation, mode="refuse", probability=probability)
    for operation, phase, probability in [
        (OrderFault.ORDER_CREATE, "before", 0.03),
        (InventoryFault.STOCK_RESERVE, "after", 0.03),
        (PaymentFault.PAYMENT_CHARGE, "after", 0.03),
        (OrderFault.ORDER_APPROVE, "before", 0.03),
        (InventoryFault.RESERVATION_COMMIT, "after", 0.03),
        (OrderFault.ORDER_CANCEL, "before", 0.05),
        (InventoryFault.RESERVATION_RELEASE, "after", 0.05),
        (PaymentFault.PAYMENT_REFUND, "after", 0.05),
    ]:
        FaultRuleFactory(operation=operation, phase=phase, mode="transient", probability=probability)
    for operation, phase, probability, seconds in [
        (PaymentFault.PAYMENT_CHARGE, "before", 0.3, 0.3),
        (InventoryFault.STOCK_RESERVE, "after", 0.2, 0.2),
        (OrderFault.ORDER_APPROVE, "after", 0.2, 0.2),
    ]:
        FaultRuleFactory(operation=operation, phase=phase, mode="delay", probability=probability, delay_seconds=seconds)


def shop(rng: random.Random, orders: int, styles: tuple[str, ...]) -> list[SagaInstance]:
    customers = [AccountFactory(customer=f"chaos{n}", balance=Decimal("300.00")).customer for n in range(30)]
    skus = [ProductFactory(sku=f"CHAOS-{n}", unit_price=Decimal(10 + 5 * n), stock_on_hand=120).sku for n in range(5)]
    return [
        order_place(
            customer=rng.choice(customers), sku=rng.choice(skus), quantity=rng.randint(1, 3), style=rng.choice(styles)
        )[0]
        for _ in range(orders)
    ]


def delivery_runs() -> dict[int, str]:
    """Worker processes the monitor names on a saga as delivering its events now, with that saga's id."""
    now = timezone.now()
    runs = SagaInstance.objects.filter(style=SagaStyle.CHOREOGRAPHY, context__has_key=DELIVERIES)
    holders = {}
    for saga_id, context in runs.values_list("pk", "context"):
        for worker, entry in context[DELIVERIES].items():
            if datetime.fromisoformat(entry["until"]) > now:
                holders[int(worker.rsplit(":", 2)[1])] = str(saga_id)
    return holders


def kill_delivering_worker(cluster: WorkerCluster, rng: random.Random) -> tuple[int, str] | None:
    """SIGKILL one worker that is delivering a saga's events; (pid, saga id), or None if none is."""
    ours = set(cluster.processes())
    busy = {pid: saga_id for pid, saga_id in delivery_runs().items() if pid in ours}
    if not busy:
        return None
    pid = rng.choice(sorted(busy))
    if delivery_runs().get(pid) != busy[pid]:
        return None  # it moved off that saga meanwhile; an idle worker is not what we want to kill
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return pid, busy[pid]


def all_terminal() -> bool:
    return not SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).exists()


def all_terminal_and_settled() -> bool:
    """Every saga finished, and no delivery run named on one: each killed run was logged as cut short.

    A killed worker's task comes back once django-q2's `retry` lease runs out, possibly after
    its saga finished; that repeat is what logs the run.
    """
    return all_terminal() and not SagaInstance.objects.filter(context__has_key=DELIVERIES).exists()


def statuses() -> dict[str, int]:
    rows = SagaInstance.objects.values_list("style", "status").annotate(n=Count("id")).order_by()
    return {f"{style}/{status}": n for style, status, n in rows}


def event_rows_recorded_twice() -> list[tuple]:
    rows = SagaStepLog.objects.filter(direction=Direction.EVENT, step_name__contains="-")
    return list(rows.values_list("saga_id", "idempotency_key").annotate(n=Count("id")).filter(n__gt=1).order_by())


def run_with_kills(
    sagas: list[SagaInstance],
    kills_wanted: int,
    timeout: float,
    kill: Callable[[WorkerCluster, random.Random], tuple[int, str] | None],
) -> tuple[dict, list[tuple[int, str]]]:
    """Run the sagas to their end on one cluster, killing `kills_wanted` workers as `kill` picks them."""
    rng = random.Random(len(sagas))
    started = time.monotonic()
    supervisor = Supervisor([WorkerCluster(workers=2, env=CLUSTER_ENV).start()], sweep_every=2.0, idle_seconds=10)
    kills: list[tuple[int, str]] = []
    # Kills come often enough that the wanted number lands while the sagas run, however fast they run.
    next_kill = [started + rng.uniform(1, 2)]
    last_sweep = [started]

    def tick() -> None:
        now = time.monotonic()
        if now - last_sweep[0] >= 2.0:
            choreography_sweep(grace_seconds=1, idle_seconds=8)
            last_sweep[0] = now
        if len(kills) < kills_wanted and now >= next_kill[0]:
            hit = kill(supervisor.clusters[0], rng)
            if hit is not None:
                kills.append(hit)
                next_kill[0] = now + rng.uniform(0.5, 2)

    try:
        supervisor.run_until(
            all_terminal_and_settled, timeout=timeout, interval=0.2, on_tick=tick, what="every saga to finish"
        )
    finally:
        supervisor.stop()
        print(f"\nafter {time.monotonic() - started:.0f}s: {statuses()}, {len(kills)} kills")
    figures = {"seconds": round(time.monotonic() - started, 1), "kills": len(kills), "restarts": supervisor.restarts}
    return figures, kills


def assert_each_killed_step_was_abandoned(kills: list[tuple[int, str]]) -> None:
    """As in test_chaos.py: the attempt each killed worker was running is in the step log as ABANDONED."""
    for pid, saga_id in kills:
        interrupted = SagaStepLog.objects.filter(saga_id=saga_id, worker__contains=f":{pid}:")
        assert interrupted.filter(status=StepStatus.ABANDONED).exists(), f"saga {saga_id}: the killed step vanished"


def assert_every_saga_finished_once() -> None:
    assert all_terminal()
    assert not SagaInstance.objects.filter(status=SagaStatus.FAILED).exists(), statuses()
    assert find_violations() == []
    assert duplicate_effects() == []
    assert event_rows_recorded_twice() == []


def test_choreographed_orders_survive_workers_killed_mid_flight():
    rng = random.Random(20261125)
    plant_faults()
    # A choreographed order runs in one task now: enough orders that the kills land mid-flight.
    sagas = shop(rng, 240, ("choreography",))
    figures, kills = run_with_kills(sagas, kills_wanted=8, timeout=300, kill=kill_delivering_worker)
    print(f"\n{len(sagas)} choreographed sagas: {figures}; {statuses()}")
    assert len(kills) >= 5  # each one of a worker caught delivering a saga's events
    assert_every_saga_finished_once()
    assert_each_killed_step_was_abandoned(kills)


def test_a_mix_of_both_styles_survives_workers_killed_mid_flight():
    rng = random.Random(7)
    plant_faults()
    sagas = shop(rng, 120, ("choreography", "orchestration"))
    figures, kills = run_with_kills(sagas, kills_wanted=8, timeout=300, kill=WorkerCluster.kill_busy_worker)
    print(f"\n{len(sagas)} sagas of both styles: {figures}; {statuses()}")
    assert len(kills) >= 5
    assert {saga.style for saga in sagas} == {"choreography", "orchestration"}
    assert_every_saga_finished_once()
    assert_each_killed_step_was_abandoned(kills)
