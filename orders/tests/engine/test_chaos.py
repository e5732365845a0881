"""Real worker clusters broken on purpose: workers killed mid-step, two clusters racing, a
step that hangs, and forty orders racing for ten units.

The test process plays the process supervisor and the recovery schedule (sagas.testing.cluster
.Supervisor): it runs the sweep every two seconds and replaces a cluster that stops taking
tasks. Leases are short (the step's timeout plus one second), so a killed step is taken
over within seconds. Every check reads the participants' own tables: each effect applied
once, no saga running two steps at once, and the invariants of check_consistency.
"""

import random
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from inventory.fault_points import InventoryFault
from inventory.models import Product, Reservation
from inventory.tests.factories import ProductFactory
from orders.fault_points import OrderFault
from orders.placement import order_place
from orders.tests.support.effects import duplicate_effects, lowest_stock_seen
from payments.fault_points import PaymentFault
from payments.models import Payment
from payments.tests.factories import AccountFactory
from sagas.consistency import find_violations
from sagas.engine.queue import enqueue_saga
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.testing.cluster import Supervisor, WorkerCluster, wait_until
from sagas.tests.attempts import overlapping_attempts, saga_stories, unfinished_attempts
from sagas.tests.factories import FaultRuleFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.chaos,
    pytest.mark.django_db(databases="__all__", transaction=True),
]

SHORT_LEASES = {"SAGA_LEASE_MARGIN_SECONDS": "1"}


def _plant_faults() -> None:
    """About 10% business refusals, 10% transient errors, and delays that keep workers mid-step."""
    for operation, probability in [(InventoryFault.STOCK_RESERVE, 0.05), (PaymentFault.PAYMENT_CHARGE, 0.05)]:
        FaultRuleFactory(operation=operation, mode="refuse", probability=probability)
    for operation, phase, probability in [
        (OrderFault.ORDER_CREATE, "before", 0.02),
        (InventoryFault.STOCK_RESERVE, "after", 0.02),
        (PaymentFault.PAYMENT_CHARGE, "after", 0.02),
        (OrderFault.ORDER_APPROVE, "before", 0.02),
        (InventoryFault.RESERVATION_COMMIT, "after", 0.02),
        (OrderFault.ORDER_CANCEL, "before", 0.05),
        (InventoryFault.RESERVATION_RELEASE, "after", 0.05),
        (PaymentFault.PAYMENT_REFUND, "after", 0.05),
    ]:
        FaultRuleFactory(operation=operation, phase=phase, mode="transient", probability=probability)
    for operation, probability, seconds in [
        (PaymentFault.PAYMENT_CHARGE, 0.25, 0.25),
        (InventoryFault.STOCK_RESERVE, 0.15, 0.2),
    ]:
        FaultRuleFactory(operation=operation, mode="delay", probability=probability, delay_seconds=seconds)


def _shop(rng: random.Random, orders: int) -> list[SagaInstance]:
    customers = [AccountFactory(customer=f"chaos{n}", balance=Decimal("500.00")).customer for n in range(30)]
    skus = [ProductFactory(sku=f"CHAOS-{n}", unit_price=Decimal(10 + 5 * n), stock_on_hand=200).sku for n in range(5)]
    return [
        order_place(customer=rng.choice(customers), sku=rng.choice(skus), quantity=rng.randint(1, 3))[0]
        for _ in range(orders)
    ]


def _all_terminal() -> bool:
    return not SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).exists()


def _statuses() -> dict[str, int]:
    return {status: SagaInstance.objects.filter(status=status).count() for status in SagaStatus.values}


def _worker_pid(worker: str) -> int:
    return int(worker.rsplit(":", 2)[1])


def test_workers_killed_mid_step_lose_no_saga_and_apply_no_effect_twice():
    rng = random.Random(20261125)
    _plant_faults()
    sagas = _shop(rng, 300)
    started = time.monotonic()
    supervisor = Supervisor([WorkerCluster(workers=2, env=SHORT_LEASES).start()], sweep_every=2.0)
    kills: list[tuple[int, str]] = []
    # Kills come often enough that at least five land while 300 sagas run, however fast they run.
    next_kill = [started + rng.uniform(1, 2)]

    def kill_at_random_moments() -> None:
        if len(kills) < 8 and time.monotonic() >= next_kill[0]:
            hit = supervisor.clusters[0].kill_busy_worker(rng)
            if hit is not None:
                kills.append(hit)
                next_kill[0] = time.monotonic() + rng.uniform(1, 3)
                if len(kills) == 4:
                    supervisor.restart()  # once, the whole cluster dies with tasks in memory

    try:
        supervisor.run_until(
            _all_terminal, timeout=240, interval=0.2, on_tick=kill_at_random_moments, what="every saga to finish"
        )
    finally:
        supervisor.stop()
    elapsed = time.monotonic() - started
    print(
        f"\n{len(sagas)} sagas, {len(kills)} workers killed mid-step, {supervisor.restarts} whole clusters "
        f"killed ({supervisor.stalls} for a stall), "
        f"{supervisor.sweeps} sweeps kicking {supervisor.kicked} sagas, {elapsed:.1f}s; {_statuses()}"
    )

    assert len(kills) >= 5
    assert supervisor.restarts >= 1
    assert _statuses()[SagaStatus.FAILED] == 0
    violations = find_violations()
    assert violations == [], saga_stories(v.saga_id for v in violations)
    call_command("check_consistency", stdout=StringIO())  # exits 1 on any violation
    assert duplicate_effects() == []
    for pid, saga_id in kills:
        interrupted = SagaStepLog.objects.filter(saga_id=saga_id, worker__contains=f":{pid}:")
        assert interrupted.filter(status=StepStatus.ABANDONED).exists(), f"saga {saga_id}: the killed step vanished"
    assert unfinished_attempts() == []
    assert overlapping_attempts() == []


def test_two_clusters_on_one_database_never_run_one_saga_on_both_at_once():
    rng = random.Random(7)
    FaultRuleFactory(operation=PaymentFault.PAYMENT_CHARGE, phase="after", mode="transient", probability=0.1)
    FaultRuleFactory(operation=InventoryFault.STOCK_RESERVE, mode="delay", probability=0.3, delay_seconds=0.1)
    sagas = _shop(rng, 120)
    for saga in sagas:  # every saga is delivered three times: the clusters race for each one
        enqueue_saga(saga.pk)
        enqueue_saga(saga.pk)
    started = time.monotonic()
    supervisor = Supervisor([WorkerCluster(workers=2).start(), WorkerCluster(workers=2).start()], sweep_every=2.0)
    pids_by_cluster: list[set[int]] = [set(), set()]

    def note_processes() -> None:
        for index, cluster in enumerate(supervisor.clusters):
            pids_by_cluster[index].update(cluster.processes())

    try:
        supervisor.run_until(_all_terminal, timeout=120, on_tick=note_processes, what="every saga to finish")
    finally:
        supervisor.stop()
    elapsed = time.monotonic() - started

    steps = SagaStepLog.objects.exclude(worker="").values_list("saga_id", "worker")
    clusters_per_saga: dict[str, set[int]] = {}
    for saga_id, worker in steps:
        pid = _worker_pid(worker)
        ran_on = {index for index, pids in enumerate(pids_by_cluster) if pid in pids}
        clusters_per_saga.setdefault(str(saga_id), set()).update(ran_on)
    shared = sum(1 for ran_on in clusters_per_saga.values() if len(ran_on) == 2)
    print(f"\n{len(sagas)} sagas x3 deliveries on two clusters in {elapsed:.1f}s; {shared} ran steps on both")

    assert _statuses()[SagaStatus.FAILED] == 0
    assert set().union(*clusters_per_saga.values()) == {0, 1}, "both clusters took work"
    assert overlapping_attempts() == []
    assert unfinished_attempts() == []
    assert duplicate_effects() == []
    violations = find_violations()
    assert violations == [], saga_stories(v.saga_id for v in violations)


def test_a_step_that_hangs_past_its_timeout_ends_and_its_worker_runs_the_next_saga():
    AccountFactory(customer="hang", balance=Decimal("100.00"))
    ProductFactory(sku="HANG-1", unit_price=Decimal("10.00"), stock_on_hand=10)
    # The charge takes effect, then the call hangs: the engine cannot know it was applied.
    FaultRuleFactory(operation=PaymentFault.PAYMENT_CHARGE, phase="after", mode="hang", remaining=1)
    hung, _ = order_place(customer="hang", sku="HANG-1", quantity=1)
    charges = SagaStepLog.objects.filter(step_name="charge_payment")
    with WorkerCluster(workers=1):
        wait_until(lambda: charges.filter(saga=hung).exists(), timeout=30, what="the charge to start")
        queued_behind, _ = order_place(customer="hang", sku="HANG-1", quantity=2)
        wait_until(_all_terminal, timeout=45, what="both sagas to finish")

    hung.refresh_from_db()
    queued_behind.refresh_from_db()
    assert (hung.status, queued_behind.status) == (SagaStatus.COMPLETED, SagaStatus.COMPLETED)
    timed_out, retried = charges.filter(saga=hung).order_by("attempt")
    assert (timed_out.status, retried.status) == (StepStatus.TIMED_OUT, StepStatus.SUCCEEDED)
    assert 10 <= timed_out.duration_ms / 1000 < 13, "the hang was cut off at the step's 10 s timeout"
    assert Payment.objects.using("payments").filter(order_id=hung.business_key).count() == 1
    later = SagaStepLog.objects.filter(saga=queued_behind).order_by("started_at").first()
    assert _worker_pid(later.worker) == _worker_pid(timed_out.worker), "the same worker was free again"
    assert later.started_at >= timed_out.finished_at
    assert find_violations() == []


def test_forty_orders_racing_for_the_last_ten_units_sell_exactly_ten():
    ProductFactory(sku="LAST-10", unit_price=Decimal("10.00"), stock_on_hand=10)
    buyers = [AccountFactory(customer=f"racer{n}", balance=Decimal("100.00")).customer for n in range(40)]
    sagas = [order_place(customer=buyer, sku="LAST-10", quantity=1)[0] for buyer in buyers]
    with WorkerCluster(workers=4):
        wait_until(_all_terminal, timeout=90, what="all forty sagas to finish")

    statuses = _statuses()
    assert (statuses[SagaStatus.COMPLETED], statuses[SagaStatus.COMPENSATED]) == (10, 30)
    product = Product.objects.using("inventory").get(sku="LAST-10")
    assert product.stock_on_hand == 0
    assert lowest_stock_seen("LAST-10") >= 0
    sold = Reservation.objects.using("inventory").filter(product=product, status=Reservation.Status.COMMITTED)
    assert sold.count() == 10
    for saga in SagaInstance.objects.filter(pk__in=[s.pk for s in sagas], status=SagaStatus.COMPENSATED):
        assert "in stock" in saga.last_error
    assert duplicate_effects() == []
    assert find_violations() == []
