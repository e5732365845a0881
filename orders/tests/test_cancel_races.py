"""Cancels that race the workers, each other and an operator, on PostgreSQL with real `qcluster` workers.

A customer's cancel (orders/cancellation.py) reads the order and its sagas, decides, then
acts through the engine's fenced writes; a worker's checkpoint, a second cancel or an
operator's retry may land between the reading and the writing. Each race below ends with the
order consistent: check_consistency finds nothing, no effect was applied twice, and what the
customer was told (the saga doing the work, or a refusal) is what became of the order.
"""

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections

from inventory.fault_points import InventoryFault
from inventory.models import Reservation
from inventory.tests.factories import ProductFactory
from orders.cancellation import CancellationRefused, CancellationStarted, CancelPath, cancellation_request
from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.fault_points import OrderFault
from orders.models import Order
from orders.placement import order_place
from orders.tests.support.effects import duplicate_effects
from payments.fault_points import PaymentFault
from payments.models import CustomerAccount, Payment, Refund
from payments.tests.factories import AccountFactory
from sagas.consistency import find_violations
from sagas.errors import ActionNotAllowed
from sagas.models import ACTIVE_STATUSES, Direction, FaultRule, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.participant import faults
from sagas.services import saga_retry
from sagas.testing.cluster import SupervisedWorkers, WorkerCluster, lease_holders, wait_until
from sagas.tests.attempts import saga_stories, unfinished_attempts

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(databases="__all__", transaction=True),
]

CUSTOMER = "racer"
DEPOSIT = Decimal("1000.00")
SKU = "RACE-1"
STOCK = 100
PRICE = Decimal("10.00")
QUANTITY = 2
# Leases of the step's timeout (10 s) plus one second, so a killed step is taken over soon.
SHORT_LEASES = {"SAGA_LEASE_MARGIN_SECONDS": "1"}

# The fault point each placement step passes before its effect.
FAULT_POINT = {
    "create_order": OrderFault.ORDER_CREATE,
    "reserve_stock": InventoryFault.STOCK_RESERVE,
    "charge_payment": PaymentFault.PAYMENT_CHARGE,
    "approve_order": OrderFault.ORDER_APPROVE,
    "commit_stock": InventoryFault.RESERVATION_COMMIT,
}
BEFORE_THE_PIVOT = ("create_order", "reserve_stock", "charge_payment")
# A running worker reads the fault rules at most a second old (sagas.participant.faults caches them).
RULES_SEEN_AFTER = 1.2


@pytest.fixture
def shop(db) -> None:
    AccountFactory(customer=CUSTOMER, balance=DEPOSIT)
    ProductFactory(sku=SKU, name="Race widget", unit_price=PRICE, stock_on_hand=STOCK)


# --- reading the shop ----------------------------------------------------------------------------


def balance() -> Decimal:
    return CustomerAccount.objects.using("payments").get(customer=CUSTOMER).balance


def order_of(placement: SagaInstance) -> Order | None:
    return Order.objects.using("orders").filter(pk=placement.business_key).first()


def cancellations_of(placement: SagaInstance) -> list[SagaInstance]:
    sagas = SagaInstance.objects.filter(definition_name=CANCELLATION_SAGA, business_key=placement.business_key)
    return list(sagas.order_by("created_at"))


def refunds_of(placement: SagaInstance) -> list[Refund]:
    return list(Refund.objects.using("payments").filter(payment__order_id=placement.business_key))


def compensate_requests(placement: SagaInstance) -> int:
    """Audit rows of "compensate now" on the placement saga: one per cancel (or operator) that stopped it."""
    return placement.steps.filter(direction=Direction.OPERATOR, action="compensate").count()


def sagas_of_the_order_terminal(placement: SagaInstance) -> Callable[[], bool]:
    def done() -> bool:
        sagas = SagaInstance.objects.filter(business_key=placement.business_key)
        return not sagas.filter(status__in=ACTIVE_STATUSES).exists()

    return done


def wait_for_the_order(placement: SagaInstance, timeout: float = 60) -> None:
    wait_until(
        sagas_of_the_order_terminal(placement), timeout=timeout, what=f"the sagas of order {placement.business_key}"
    )
    placement.refresh_from_db()


def assert_consistent() -> None:
    """What every race ends with: no invariant broken, no effect twice, no attempt left running.

    Attempts overlapping are check_consistency's invariant 12, which leaves out the attempts a
    cancel cut short: the participant call a cancel interrupts may still be running when the
    compensation starts, and the compensation's record then refuses its late effect.
    """
    violations = find_violations()
    assert violations == [], saga_stories(v.saga_id for v in violations)
    assert duplicate_effects() == []
    assert unfinished_attempts() == []


def assert_undone(placement: SagaInstance) -> None:
    """A placement a cancel stopped: compensated, its order cancelled (or never created), nothing kept."""
    assert placement.status == SagaStatus.COMPENSATED, saga_stories([str(placement.pk)])
    order = order_of(placement)
    assert order is None or order.status == Order.Status.CANCELLED
    captured = Payment.objects.using("payments").filter(order_id=placement.business_key, status=Payment.Status.CAPTURED)
    assert not captured.exists()
    held = Reservation.objects.using("inventory").filter(
        order_id=placement.business_key, status__in=[Reservation.Status.ACTIVE, Reservation.Status.COMMITTED]
    )
    assert not held.exists()
    assert not cancellations_of(placement), "a stopped placement needs no cancellation saga"


def assert_cancelled_by_its_saga(placement: SagaInstance) -> None:
    """A confirmed order cancelled by one cancellation saga: one refund of what was captured, the stock back."""
    assert placement.status == SagaStatus.COMPLETED
    (cancellation,) = cancellations_of(placement)
    assert cancellation.status == SagaStatus.COMPLETED, saga_stories([str(cancellation.pk)])
    assert order_of(placement).status == Order.Status.CANCELLED
    (payment,) = Payment.objects.using("payments").filter(order_id=placement.business_key)
    assert [refund.amount for refund in refunds_of(placement)] == [payment.amount]
    assert set(
        Reservation.objects.using("inventory").filter(order_id=placement.business_key).values_list("status", flat=True)
    ) == {Reservation.Status.RETURNED}


def cancel(placement: SagaInstance) -> CancellationStarted:
    return cancellation_request(placement.business_key, customer=CUSTOMER, actor=f"customer {CUSTOMER}")


def place(style: str = "orchestration") -> SagaInstance:
    return order_place(customer=CUSTOMER, sku=SKU, quantity=QUANTITY, style=style)[0]


def plant(operation: str, mode: str, phase: str = "before", remaining: int | None = 1, **fields: Any) -> FaultRule:
    rule = FaultRule.objects.create(operation=operation, mode=mode, phase=phase, remaining=remaining, **fields)
    faults.clear_cache()
    return rule


def fired(rule: FaultRule, left: int = 0) -> bool:
    """The rule was taken down to `left`: a participant call is inside it now (a delay) or went through it."""
    rule.refresh_from_db()
    return rule.remaining == left


def at_once(*calls: Callable[[], Any], jitter: float = 0.0, rng: random.Random | None = None) -> list[Any]:
    """Run each call in its own thread (its own database connections), released together; results or exceptions.

    `jitter` delays each call by up to that many seconds after the common start, so repeated
    rounds meet the other side at different moments.
    """
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)
    delays = [rng.uniform(0, jitter) if rng and jitter else 0.0 for _ in calls]

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            time.sleep(delays[index])
            results[index] = call()
        except Exception as error:  # the outcome of a race is what the test reads
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


# --- a cancel while the placement saga is still running ------------------------------------------


@pytest.mark.parametrize("style", ["orchestration", "choreography"])
@pytest.mark.parametrize("step", list(FAULT_POINT))
def test_a_cancel_while_a_placement_step_runs_stops_it_before_the_pivot_and_waits_for_confirmation_after(
    shop, style, step
):
    # The step's participant is held before its effect, so the cancel lands while it runs.
    held = plant(FAULT_POINT[step], "delay", delay_seconds=3)
    with WorkerCluster(workers=2, env=SHORT_LEASES):
        placement = place(style)
        wait_until(lambda: fired(held), timeout=30, interval=0.05, what=f"{step} to be in flight")
        try:
            outcome = cancel(placement)
        except CancellationRefused as refusal:
            outcome = refusal
        wait_for_the_order(placement)

        if step in BEFORE_THE_PIVOT:
            assert isinstance(outcome, CancellationStarted), outcome
        elif style == "orchestration" or step == "commit_stock":
            # The pivot runs or has run: the customer is told to cancel once the order is confirmed.
            assert isinstance(outcome, CancellationRefused) and outcome.code == "confirming", outcome
        # A choreographed saga learns of the approval only from its event: while the approval is held
        # before its effect the cancel request goes out, and the order service takes whichever of the
        # two comes first. Either way the order ends whole: stopped, or confirmed then cancelled.
        if isinstance(outcome, CancellationStarted):
            assert (outcome.path, outcome.saga.pk) == (CancelPath.STOP_PLACEMENT, placement.pk)
            assert_undone(placement)
            assert (balance(), compensate_requests(placement)) == (DEPOSIT, 1)
        else:
            assert outcome.code == "confirming", outcome
            assert placement.status == SagaStatus.COMPLETED, saga_stories([str(placement.pk)])
            assert order_of(placement).status == Order.Status.APPROVED
            assert compensate_requests(placement) == 0
            # ...and once it is, the cancel they were offered goes through.
            assert cancel(placement).path == CancelPath.CANCELLATION
            wait_for_the_order(placement)
            assert_cancelled_by_its_saga(placement)
            assert balance() == DEPOSIT
        print(f"\n{style}, cancelled during {step}: {outcome!r}")
    assert_consistent()


# --- two cancels of one order at once --------------------------------------------------------------


def assert_one_saga_or_one_refusal(outcomes: list[Any], placement: SagaInstance) -> CancellationStarted:
    """Two cancels at once gave one saga (both name it, one created it) or one saga and one refusal."""
    started = [o for o in outcomes if isinstance(o, CancellationStarted)]
    refused = [o for o in outcomes if isinstance(o, CancellationRefused)]
    assert len(started) + len(refused) == 2, outcomes  # nothing else was raised
    assert started, f"neither cancel went through: {outcomes}"
    assert len({s.saga.pk for s in started}) == 1, "two sagas for one order"
    assert [s.created for s in started].count(True) == 1, outcomes
    for refusal in refused:
        assert refusal.code in ("cancelling", "already_cancelled"), refusal
    return started[0] if started[0].created else started[1]


def told(outcome: Any) -> str:
    """What one cancel was told, in a word: the saga it started or joined, or the refusal's code."""
    if isinstance(outcome, CancellationStarted):
        return "started" if outcome.created else "joined"
    return getattr(outcome, "code", repr(outcome))


def test_two_cancels_at_once_of_a_confirmed_order_start_one_cancellation_saga(shop):
    rng = random.Random(13)
    pairs: list[list[str]] = []
    with WorkerCluster(workers=2, env=SHORT_LEASES):
        placements = [place() for _ in range(6)]
        for placement in placements:
            wait_for_the_order(placement)
            assert placement.status == SagaStatus.COMPLETED
        for placement in placements:
            outcomes = at_once(lambda p=placement: cancel(p), lambda p=placement: cancel(p), jitter=0.005, rng=rng)
            first = assert_one_saga_or_one_refusal(outcomes, placement)
            assert first.path == CancelPath.CANCELLATION
            pairs.append(sorted(map(told, outcomes)))
        for placement in placements:
            wait_for_the_order(placement)
            assert_cancelled_by_its_saga(placement)
    print(f"\ntwo cancels at once of a confirmed order, per order: {pairs}")
    assert balance() == DEPOSIT
    assert_consistent()


def test_two_cancels_at_once_of_a_placement_still_running_compensate_it_once(shop):
    rng = random.Random(31)
    pairs: list[list[str]] = []
    rounds = 4
    # Each order's charge is held before its effect, so both cancels land while it runs.
    held = plant(PaymentFault.PAYMENT_CHARGE, "delay", remaining=rounds, delay_seconds=3)
    with WorkerCluster(workers=2, env=SHORT_LEASES):
        for done in range(rounds):
            placement = place()
            wait_until(
                lambda left=rounds - done - 1: fired(held, left), timeout=30, interval=0.05, what="the charge to run"
            )
            outcomes = at_once(lambda p=placement: cancel(p), lambda p=placement: cancel(p), jitter=0.005, rng=rng)
            first = assert_one_saga_or_one_refusal(outcomes, placement)
            assert (first.path, first.saga.pk) == (CancelPath.STOP_PLACEMENT, placement.pk)
            pairs.append(sorted(map(told, outcomes)))
            wait_for_the_order(placement)
            assert_undone(placement)
            assert compensate_requests(placement) == 1
    print(f"\ntwo cancels at once of a running placement, per order: {pairs}")
    assert balance() == DEPOSIT
    assert_consistent()


# --- a cancel during an operator's retry of a failed placement -------------------------------------


def fail_at_the_pivot() -> None:
    """The approval fails before its effect on all five attempts: FAILED at the pivot, outcome unknown to the engine."""
    plant(OrderFault.ORDER_APPROVE, "transient", remaining=5)


def fail_in_a_compensation() -> None:
    """The approval is refused, then the refund of the charge fails five times: FAILED compensating."""
    plant(OrderFault.ORDER_APPROVE, "refuse")
    plant(PaymentFault.PAYMENT_REFUND, "transient", remaining=5)


def fail_after_the_pivot() -> None:
    """The stock commit after the approval is refused: FAILED past the pivot, the order approved."""
    plant(InventoryFault.RESERVATION_COMMIT, "refuse")


FAILURES = {
    "at the pivot": (fail_at_the_pivot, Direction.FORWARD, "approve_order"),
    "in a compensation": (fail_in_a_compensation, Direction.COMPENSATION, "charge_payment"),
    "after the pivot": (fail_after_the_pivot, Direction.FORWARD, "commit_stock"),
}
# What a cancel racing the retry may be told, besides going through.
RACE_REFUSALS = {"confirming", "cancelling", "not_cancellable", "already_cancelled"}


def retry(placement: SagaInstance) -> SagaInstance:
    return saga_retry(placement.pk, actor="oncall", reason="the service is back")


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_cancel_during_an_operators_retry_of_a_failed_placement_ends_consistent(shop, failure):
    rng = random.Random(failure)
    make_it_fail, direction, step = FAILURES[failure]
    seen: set[str] = set()
    with WorkerCluster(workers=2, env=SHORT_LEASES):
        for _ in range(4):
            make_it_fail()
            time.sleep(RULES_SEEN_AFTER)
            placement = place()
            wait_until(
                lambda p=placement: SagaInstance.objects.get(pk=p.pk).status == SagaStatus.FAILED,
                timeout=60,
                what=f"the placement to fail {failure}",
            )
            placement.refresh_from_db()
            assert (placement.direction, placement.current_step) == (direction, step), placement.last_error
            FaultRule.objects.update(enabled=False)  # the operator fixed the cause before retrying
            faults.clear_cache()

            retried, cancelled = at_once(
                lambda p=placement: retry(p), lambda p=placement: cancel(p), jitter=0.05, rng=rng
            )
            wait_for_the_order(placement)
            # An operator's refusal is the only exception a retry may meet; anything else is a bug.
            assert isinstance(retried, SagaInstance | ActionNotAllowed), retried
            assert isinstance(cancelled, CancellationStarted | CancellationRefused), cancelled
            stories = saga_stories([str(placement.pk), *(str(s.pk) for s in cancellations_of(placement))])

            if isinstance(cancelled, CancellationStarted) and cancelled.path == CancelPath.STOP_PLACEMENT:
                seen.add("stopped")
                assert_undone(placement)
            elif isinstance(cancelled, CancellationStarted):
                seen.add("cancelled after the retry")
                assert isinstance(retried, SagaInstance), stories
                assert_cancelled_by_its_saga(placement)
            else:
                seen.add(f"refused {cancelled.code}")
                assert cancelled.code in RACE_REFUSALS, cancelled
                assert isinstance(retried, SagaInstance), f"neither the retry nor the cancel acted\n{stories}"
                assert not cancellations_of(placement)
                if direction == Direction.COMPENSATION:
                    assert_undone(placement)
                else:
                    assert placement.status == SagaStatus.COMPLETED, stories
                    assert order_of(placement).status == Order.Status.APPROVED
            if isinstance(retried, ActionNotAllowed):
                # The cancel came first and took the saga out of FAILED: the retry had nothing left to do.
                assert isinstance(cancelled, CancellationStarted), stories
            FaultRule.objects.all().delete()
            faults.clear_cache()
    print(f"\n{failure}: {sorted(seen)}")
    assert_consistent()


# --- the worker killed in the middle of the refund ---------------------------------------------------


RUN_WORKERS_ENV = {
    "HEALTH_QUEUE_STALL_SECONDS": "10",
    "WORKER_MISSING_SECONDS": "3",
    "WORKER_SWEEP_SECONDS": "2",
    "WORKER_RESTART_GRACE_SECONDS": "2",
    **SHORT_LEASES,
}


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_worker_killed_in_the_middle_of_the_refund_leaves_exactly_one_refund(shop, phase):
    """Killed before the refund's effect, or after it committed with its answer not yet back."""
    # The refund is held for longer than the test needs to catch it, within the step's 10 s timeout.
    held = plant(PaymentFault.PAYMENT_REFUND_ORDER, "delay", phase=phase, delay_seconds=8)
    with SupervisedWorkers(workers=2, env=RUN_WORKERS_ENV) as run:
        wait_until(lambda: len(run.worker_pids()) == 2, timeout=60, what="the cluster's first heartbeat")
        placement = place()
        wait_for_the_order(placement)
        assert placement.status == SagaStatus.COMPLETED
        paid = Payment.objects.using("payments").get(order_id=placement.business_key).amount

        cancellation = cancel(placement).saga
        wait_until(lambda: fired(held), timeout=30, interval=0.02, what="the refund to be in flight")
        holder = next((pid for pid, saga in lease_holders().items() if saga == str(cancellation.pk)), None)
        assert holder in run.worker_pids(), "a worker of the cluster runs the refund"
        refunded_before_the_kill = len(refunds_of(placement))
        os.kill(holder, signal.SIGKILL)
        killed_at = time.monotonic()

        wait_for_the_order(placement, timeout=60)
        took = time.monotonic() - killed_at

    cancellation.refresh_from_db()
    refunds = cancellation.steps.filter(step_name="refund_payment", direction=Direction.FORWARD).order_by("attempt")
    print(f"\nkilled {phase} the refund's effect; the cancellation finished {took:.1f}s later: {list(refunds)}")
    assert refunded_before_the_kill == (1 if phase == "after" else 0), "the kill landed where it says"
    lost = refunds.filter(worker__contains=f":{holder}:")
    assert [log.status for log in lost] == [StepStatus.ABANDONED], "the killed attempt is logged lost"
    assert refunds.last().status == StepStatus.SUCCEEDED
    assert refunds.last().worker != lost.get().worker
    assert cancellation.status == SagaStatus.COMPLETED, saga_stories([str(cancellation.pk)])
    assert_cancelled_by_its_saga(placement)
    assert [refund.amount for refund in refunds_of(placement)] == [paid]
    assert balance() == DEPOSIT
    assert not SagaStepLog.objects.filter(status=StepStatus.RUNNING).exists()
    assert_consistent()
