"""Orders placed and cancelled through `run_workers` while its workers are killed mid-step on purpose.

Customers cancel as they would: some while their order is still being placed (the placement
saga compensates), most once it is confirmed (the cancellation saga refunds and puts the stock
back), and again a moment later when they were told the order is still being confirmed.
Meanwhile workers are SIGKILLed in the middle of a step, most of them in a cancellation's
refund. Nothing outside run_workers helps: no sweep run by the test, no external restart.
Real processes, real signals, PostgreSQL; every check reads the participants' own tables.
"""

import random
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from inventory.fault_points import InventoryFault
from inventory.models import Reservation
from inventory.tests.factories import ProductFactory
from orders.cancellation import CancellationRefused, CancelPath, cancellation_request
from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.fault_points import OrderFault
from orders.models import Order
from orders.placement import order_place
from orders.tests.support.effects import duplicate_effects
from payments.fault_points import PaymentFault
from payments.models import Payment, Refund
from payments.tests.factories import AccountFactory
from sagas.consistency import find_violations
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.testing.cluster import Kill, SupervisedWorkers, WorkerState, lease_holders, wait_until
from sagas.tests.attempts import saga_stories
from sagas.tests.factories import FaultRuleFactory

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
ORDERS = 60
LOAD_SECONDS = 40  # orders keep coming and customers keep cancelling this long, while workers die
KILLS_IN_REFUNDS = 4
KILLS_ANYWHERE = 2
BOUND_SECONDS = 60  # every saga is terminal this long after the last kill


def plant_faults() -> None:
    """Refusals that undo some placements, answers lost after effects, and delays that keep workers in steps."""
    FaultRuleFactory(operation=PaymentFault.PAYMENT_CHARGE, mode="refuse", probability=0.05)
    for operation, phase, probability in [
        (PaymentFault.PAYMENT_CHARGE, "after", 0.03),
        (OrderFault.ORDER_MARK_CANCELLING, "after", 0.05),
        (PaymentFault.PAYMENT_REFUND_ORDER, "after", 0.1),
        (InventoryFault.STOCK_RETURN, "after", 0.1),
        (OrderFault.ORDER_MARK_CANCELLED, "before", 0.05),
    ]:
        FaultRuleFactory(operation=operation, phase=phase, mode="transient", probability=probability)
    # The refund is the slowest step, so a worker is often caught in it; placements linger at their charge.
    for operation, probability, seconds in [
        (PaymentFault.PAYMENT_REFUND_ORDER, 1.0, 0.5),
        (InventoryFault.STOCK_RETURN, 0.5, 0.2),
        (PaymentFault.PAYMENT_CHARGE, 0.3, 0.3),
    ]:
        FaultRuleFactory(operation=operation, mode="delay", probability=probability, delay_seconds=seconds)


@dataclass
class Customer:
    """One order and its customer's intent: cancel at `cancel_at` (monotonic), asking again while refused."""

    placement: SagaInstance
    cancel_at: float | None
    told: list[str]

    @property
    def settled(self) -> bool:
        return self.cancel_at is None or (bool(self.told) and self.told[-1] != "confirming")


def ask_to_cancel(customer: Customer, rng: random.Random) -> None:
    placement = customer.placement
    try:
        started = cancellation_request(
            placement.business_key, customer=placement.party, actor=f"customer {placement.party}"
        )
    except CancellationRefused as refusal:
        customer.told.append(refusal.code)
        if refusal.code == "confirming":  # told to cancel once it is confirmed: they come back
            customer.cancel_at = time.monotonic() + rng.uniform(0.3, 1.0)
        return
    customer.told.append(started.path.value)


def refund_holders(run: SupervisedWorkers) -> set[int]:
    """Workers of the cluster running a cancellation's refund now."""
    holders = {pid: saga for pid, saga in lease_holders().items() if pid in set(run.worker_pids())}
    refunding = set(
        SagaInstance.objects.filter(
            pk__in=list(holders.values()), definition_name=CANCELLATION_SAGA, current_step="refund_payment"
        ).values_list("pk", flat=True)
    )
    return {pid for pid, saga in holders.items() if saga in {str(pk) for pk in refunding}}


def abandoned_by(kill: Kill) -> list[SagaStepLog]:
    """The attempts of the killed step: the saga's, under the killed process, left ABANDONED."""
    return list(
        SagaStepLog.objects.filter(saga_id=kill.saga_id, worker__contains=f":{kill.pid}:", status=StepStatus.ABANDONED)
    )


def all_terminal() -> bool:
    return not SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).exists()


def statuses() -> dict[str, int]:
    rows = SagaInstance.objects.values_list("definition_name", "status").annotate(n=Count("id")).order_by()
    return {f"{name}/{status}": n for name, status, n in rows}


def test_orders_placed_and_cancelled_while_workers_die_keep_every_invariant_and_refund_each_cancel_once():
    rng = random.Random(2026_11_29_13)
    plant_faults()
    names = [AccountFactory(customer=f"cancel{n}", balance=Decimal("500.00")).customer for n in range(20)]
    skus = [ProductFactory(sku=f"CANCEL-{n}", unit_price=Decimal(10 + 5 * n), stock_on_hand=400).sku for n in range(3)]
    customers: list[Customer] = []
    kills: list[Kill] = []
    refund_kills: list[Kill] = []

    def place() -> None:
        placement, _ = order_place(
            customer=rng.choice(names),
            sku=rng.choice(skus),
            quantity=rng.randint(1, 3),
            style=rng.choice(["orchestration", "orchestration", "choreography"]),
        )
        # Seven in ten cancel: some at once, while the order is being placed, most a few seconds later.
        chance = rng.random()
        if chance < 0.25:
            cancel_at = time.monotonic() + rng.uniform(0.0, 0.5)
        elif chance < 0.7:
            cancel_at = time.monotonic() + rng.uniform(1.0, 6.0)
        else:
            cancel_at = None
        customers.append(Customer(placement, cancel_at, []))

    started = time.monotonic()
    with SupervisedWorkers(workers=2, env=RUN_WORKERS_ENV) as run:
        wait_until(lambda: len(run.worker_pids()) == 2, timeout=60, what="the cluster's first heartbeat")
        next_order, next_kill = time.monotonic(), time.monotonic() + 3
        last_kill = next_kill
        while time.monotonic() < started + LOAD_SECONDS or not all(c.settled for c in customers):
            now = time.monotonic()
            if len(customers) < ORDERS and now >= next_order:
                place()
                next_order = now + rng.uniform(0.2, 0.8)
            for customer in customers:
                if customer.cancel_at is not None and not customer.settled and now >= customer.cancel_at:
                    ask_to_cancel(customer, rng)
            if now >= next_kill and len(kills) < KILLS_IN_REFUNDS + KILLS_ANYWHERE:
                in_refund = len(refund_kills) < KILLS_IN_REFUNDS
                spare = set(run.worker_pids()) - refund_holders(run) if in_refund else set()
                kill = run.kill_worker(WorkerState.IN_STEP, rng, spare=spare)
                if kill is not None:
                    kills.append(kill)
                    last_kill = time.monotonic()
                    if in_refund:
                        refund_kills.append(kill)
                    next_kill = now + rng.uniform(2.0, 4.0)
            if time.monotonic() > started + LOAD_SECONDS + 60:
                raise AssertionError(f"the load did not settle: {[c.told for c in customers if not c.settled]}")
            time.sleep(0.05)
        wait_until(
            all_terminal,
            timeout=last_kill + BOUND_SECONDS - time.monotonic(),
            interval=0.5,
            what="every saga to finish after the last kill",
        )
        took = time.monotonic() - last_kill
        restarts = run.restarts()

    cancellations = SagaInstance.objects.filter(definition_name=CANCELLATION_SAGA)
    told = [code for customer in customers for code in customer.told]
    print(
        f"\n{len(customers)} orders in {time.monotonic() - started:.0f}s; cancels told {dict(Counter(told))}; "
        f"kills landed in {[[log.step_name for log in abandoned_by(kill)] for kill in kills]}; "
        f"terminal {took:.1f}s after the last kill; {restarts} restarts; {statuses()}"
    )

    # Every kill landed in a step and left that attempt ABANDONED; those aimed at refunds landed in one.
    assert len(kills) == KILLS_IN_REFUNDS + KILLS_ANYWHERE, kills
    for kill in kills:
        assert abandoned_by(kill), kill
    in_refunds = [kill for kill in refund_kills if {log.step_name for log in abandoned_by(kill)} == {"refund_payment"}]
    assert len(in_refunds) >= KILLS_IN_REFUNDS - 1, refund_kills

    # Every saga finished, none waits for a person, and each path was taken.
    assert all_terminal(), statuses()
    assert not SagaInstance.objects.filter(status=SagaStatus.FAILED).exists(), statuses()
    assert {CancelPath.STOP_PLACEMENT.value, CancelPath.CANCELLATION.value} <= set(told)
    assert set(told) <= {
        CancelPath.STOP_PLACEMENT.value,
        CancelPath.CANCELLATION.value,
        "confirming",
        "not_cancellable",
    }

    # Each completed cancellation refunded what was captured, once, and put its stock back.
    completed = list(cancellations.filter(status=SagaStatus.COMPLETED))
    assert len(completed) >= 1
    for cancellation in completed:
        order_id = cancellation.business_key
        (payment,) = Payment.objects.using("payments").filter(order_id=order_id)
        refunds = list(Refund.objects.using("payments").filter(payment=payment).values_list("amount", flat=True))
        assert (payment.status, refunds) == (Payment.Status.REFUNDED, [payment.amount]), saga_stories([cancellation.pk])
        assert Order.objects.using("orders").get(pk=order_id).status == Order.Status.CANCELLED
        returned = Reservation.objects.using("inventory").filter(order_id=order_id)
        assert set(returned.values_list("status", flat=True)) == {Reservation.Status.RETURNED}
    assert len(completed) == sum(customer.told.count(CancelPath.CANCELLATION.value) for customer in customers)

    # And the whole shop adds up.
    violations = find_violations()
    assert violations == [], saga_stories(v.saga_id for v in violations)
    call_command("check_consistency", stdout=StringIO())  # exits 1 on any violation
    assert duplicate_effects() == []
    assert not SagaStepLog.objects.filter(status=StepStatus.RUNNING).exists()
