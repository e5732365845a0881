"""The customer's view of a saga: step states, percent done, and the outcome in plain words."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.placement import order_place
from orders.progress import saga_for_order, saga_progress, sagas_for_customer
from payments.tests.factories import AccountFactory
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.services import saga_compensate, saga_resolve
from sagas.testing.choreography import drain_events
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def place(customer="alice", quantity=2, run=True, fast_forward=True):
    saga, _ = order_place(customer=customer, sku="WIDGET-1", quantity=quantity)
    if run:
        drain(fast_forward=fast_forward)
    saga.refresh_from_db()
    return saga


def states(progress):
    return {step.name: step.state for step in progress.steps}


def test_a_saga_not_yet_started_is_being_placed_with_every_step_waiting(shop):
    progress = saga_progress(place(run=False))
    assert progress.headline == "Placing your order…"
    assert progress.percent == 0 and not progress.terminal and progress.outcome == ""
    assert set(states(progress).values()) == {"pending"}


def test_a_completed_saga_is_confirmed_with_every_step_done(shop):
    progress = saga_progress(place())
    assert progress.headline == "Completed" and progress.customer_status == "Completed"
    assert progress.percent == 100 and progress.terminal
    assert progress.outcome == "Your order is confirmed: 2 \N{MULTIPLICATION SIGN} Widget, paid $50.00."
    assert list(states(progress)) == [
        "create_order",
        "reserve_stock",
        "charge_payment",
        "approve_order",
        "commit_stock",
    ]
    assert set(states(progress).values()) == {"done"}


def test_a_declined_payment_says_why_and_what_was_undone(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    progress = saga_progress(place(customer="bob"))
    assert progress.headline == "Cancelled"
    assert progress.outcome == (
        "Payment declined: insufficient funds. Your stock reservation was released. "
        "Your order was cancelled. You have not been charged."
    )
    assert states(progress) == {
        "create_order": "undone",
        "reserve_stock": "undone",
        "charge_payment": "refused",
        "approve_order": "skipped",
        "commit_stock": "skipped",
    }


def test_running_out_of_stock_says_so_and_that_nothing_was_reserved(shop):
    progress = saga_progress(place(quantity=11))
    assert progress.outcome == (
        "Out of stock: there were not enough items left to reserve. Your order was cancelled. "
        "You have not been charged."
    )


def test_a_step_that_keeps_failing_is_named_and_its_empty_compensation_is_not_claimed(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient")
    progress = saga_progress(place())
    assert progress.outcome == (
        "Take payment did not go through after several tries. Your stock reservation was released. "
        "Your order was cancelled. You have not been charged."
    )
    assert states(progress)["charge_payment"] == "failed"


def test_a_charge_whose_answer_was_lost_is_reported_refunded(shop):
    FaultRuleFactory(operation="payments.payment_charge", phase="after", mode="transient")
    progress = saga_progress(place())
    assert "Your payment was refunded." in progress.outcome
    assert "You have not been charged." not in progress.outcome


def test_a_step_waiting_to_retry_shows_as_trying_again(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=1)
    saga = place(fast_forward=False)
    progress = saga_progress(saga)
    assert saga.status == SagaStatus.RUNNING
    assert progress.headline == "Taking payment…"
    assert states(progress)["charge_payment"] == "retrying"
    assert progress.percent == 40


def test_an_undo_in_progress_says_what_it_is_undoing(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    FaultRuleFactory(operation="inventory.reservation_release", mode="transient", remaining=1)
    saga = place(customer="bob", fast_forward=False)
    progress = saga_progress(saga)
    assert saga.status == SagaStatus.COMPENSATING
    assert progress.headline == "Releasing your stock reservation…"
    assert states(progress)["reserve_stock"] == "undoing"
    assert progress.percent == 0


def test_an_order_cancelled_by_staff_says_so(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=1)
    saga = place(fast_forward=False)
    saga_compensate(saga.pk, actor="ops", reason="customer asked by phone")
    drain()
    saga.refresh_from_db()
    assert saga_progress(saga).outcome.startswith("Our staff cancelled the order. Your stock reservation was released.")


def test_an_order_past_its_deadline_says_it_took_too_long(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=1)
    saga = place(fast_forward=False)
    SagaInstance.objects.filter(pk=saga.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert saga_progress(saga).outcome.startswith("The order took too long to go through, so it was cancelled.")


def test_a_saga_stuck_for_an_operator_is_on_hold_and_says_the_team_knows(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    FaultRuleFactory(operation="inventory.reservation_release", mode="transient")
    saga = place(customer="bob")
    progress = saga_progress(saga)
    assert saga.status == SagaStatus.FAILED
    assert progress.headline == "On hold" and progress.customer_status == "On hold"
    assert progress.outcome.startswith("Something went wrong with this order. Our team has been alerted")
    assert states(progress)["reserve_stock"] == "undo_failed"


def test_an_order_on_hold_whose_release_is_stuck_says_nothing_was_charged_and_the_items_are_still_held(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    FaultRuleFactory(operation="inventory.reservation_release", mode="transient")
    progress = saga_progress(place(customer="bob"))
    assert progress.outcome == (
        "Something went wrong with this order. Our team has been alerted and will finish cancelling it: any payment "
        "taken will be refunded and any items held will be released. You have not been charged. Your items are "
        "still held for this order: releasing them has not gone through yet. You do not need to do anything."
    )


def test_an_order_on_hold_whose_refund_is_stuck_says_the_customer_was_charged(shop):
    FaultRuleFactory(operation="orders.order_approve", mode="refuse")
    FaultRuleFactory(operation="payments.payment_refund", mode="transient")
    saga = place()
    progress = saga_progress(saga)
    assert saga.status == SagaStatus.FAILED
    assert progress.headline == "On hold"
    assert "You have been charged $50.00 and the refund has not gone through yet." in progress.outcome
    assert "Your items are held for this order." in progress.outcome
    assert "will finish cancelling it" in progress.outcome


def test_an_order_on_hold_after_it_was_approved_says_it_was_charged_and_will_be_completed(shop):
    FaultRuleFactory(operation="inventory.reservation_commit", mode="transient")
    saga = place()
    assert saga.status == SagaStatus.FAILED
    assert saga_progress(saga).outcome == (
        "Something went wrong with this order. Our team has been alerted and will complete it. "
        "You have been charged $50.00. Your items are held for this order. You do not need to do anything."
    )


def test_an_order_on_hold_whose_charge_answer_was_lost_does_not_claim_either_way(shop):
    FaultRuleFactory(operation="payments.payment_charge", phase="after", mode="transient")
    FaultRuleFactory(operation="payments.payment_refund", mode="transient")
    saga = place()
    outcome = saga_progress(saga).outcome
    assert saga.status == SagaStatus.FAILED
    assert "You have not been charged." not in outcome
    assert "We could not confirm whether your payment went through; if it did, it will be refunded." in outcome


def test_a_choreographed_order_on_hold_reads_the_same_as_an_orchestrated_one(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    FaultRuleFactory(operation="inventory.reservation_release", mode="transient")
    saga, _ = order_place(customer="bob", sku="WIDGET-1", quantity=2, style="choreography")
    drain_events()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.FAILED
    assert saga_progress(saga).outcome == (
        "Something went wrong with this order. Our team has been alerted and will finish cancelling it: any payment "
        "taken will be refunded and any items held will be released. You have not been charged. Your items are "
        "still held for this order: releasing them has not gone through yet. You do not need to do anything."
    )


def test_an_order_on_hold_that_staff_resolved_says_only_that_it_was_dealt_with(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    FaultRuleFactory(operation="inventory.reservation_release", mode="transient")
    saga = place(customer="bob")
    saga_resolve(saga.pk, actor="ops", reason="released by hand")
    saga.refresh_from_db()
    outcome = saga_progress(saga).outcome
    assert outcome.startswith("Something went wrong with this order and our team has dealt with it.")
    assert "still held" not in outcome


def test_steps_the_definition_does_not_know_are_shown_from_the_log_in_order(shop):
    saga = SagaInstance.objects.create(
        definition_name="not-registered", definition_version=1, style="choreography", party="alice"
    )
    now = timezone.now()
    for offset, (name, status) in enumerate([("gift-wrapped", StepStatus.SUCCEEDED), ("card_written", "RUNNING")]):
        SagaStepLog.objects.create(
            saga=saga,
            step_name=name,
            direction=Direction.EVENT,
            status=status,
            started_at=now + timedelta(seconds=offset),
        )
    progress = saga_progress(saga)
    assert [(step.label, step.state) for step in progress.steps] == [
        ("Gift wrapped", "done"),
        ("Card written", "running"),
    ]
    assert progress.percent == 50


def test_a_customer_finds_only_their_own_sagas_newest_first(shop):
    AccountFactory(customer="bob", balance=Decimal("300.00"))
    older = place(run=False)
    newer = place(run=False)
    bobs = place(customer="bob", run=False)
    assert list(sagas_for_customer("alice")) == [newer, older]
    assert saga_for_order(bobs.business_key, "alice") is None
    assert saga_for_order(bobs.business_key, "bob") == bobs
    assert saga_for_order(bobs.business_key, "") is None


@pytest.mark.parametrize(
    ("customer", "balance", "headline", "outcome"),
    [
        ("alice", None, "Completed", "Your order is confirmed: 2 \N{MULTIPLICATION SIGN} Widget, paid $50.00."),
        (
            "bob",
            "30.00",
            "Cancelled",
            "Payment declined: insufficient funds. Your stock reservation was released. Your order was cancelled. "
            "You have not been charged.",
        ),
    ],
)
def test_a_choreographed_order_reads_the_same_as_an_orchestrated_one(shop, customer, balance, headline, outcome):
    if balance:
        AccountFactory(customer=customer, balance=Decimal(balance))
    saga, _ = order_place(customer=customer, sku="WIDGET-1", quantity=2, style="choreography")
    waiting = saga_progress(saga)
    assert waiting.headline == "Placing your order…"
    assert states(waiting)["create_order"] == "running"
    drain_events()
    saga.refresh_from_db()
    progress = saga_progress(saga)
    assert (progress.headline, progress.outcome, progress.percent) == (headline, outcome, 100)
    assert list(states(progress)) == [
        "create_order",
        "reserve_stock",
        "charge_payment",
        "approve_order",
        "commit_stock",
    ]


def test_a_choreographed_order_being_undone_shows_each_service_undoing(shop):
    saga = SagaInstance.objects.create(
        definition_name="order", definition_version=1, style="choreography", status=SagaStatus.COMPENSATING
    )
    now = timezone.now()
    events = [
        ("order-requested", StepStatus.RECORDED, {}),
        ("order-created", StepStatus.SUCCEEDED, {}),
        ("stock-reserved", StepStatus.SUCCEEDED, {}),
        ("payment-declined", StepStatus.REFUSED, {"code": "insufficient_funds"}),
        ("order-cancelled", StepStatus.SUCCEEDED, {"order_id": "x", "status": "CANCELLED"}),
    ]
    for offset, (name, status, result) in enumerate(events):
        SagaStepLog.objects.create(
            saga=saga,
            step_name=name,
            direction=Direction.EVENT,
            status=status,
            result=result,
            started_at=now + timedelta(seconds=offset),
        )
    progress = saga_progress(saga)
    assert states(progress) == {
        "create_order": "undone",
        "reserve_stock": "undoing",
        "charge_payment": "refused",
        "approve_order": "pending",
        "commit_stock": "pending",
    }
    assert progress.headline == "Releasing your stock reservation…"
    assert progress.percent == 50
