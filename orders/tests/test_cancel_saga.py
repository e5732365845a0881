"""The order cancellation saga, driven through the real participants."""

from decimal import Decimal

import pytest

from inventory.models import Reservation, StockMovement
from orders.cancellation import CancelPath
from orders.cancellation_saga import NAME
from orders.models import Order
from orders.tests.cancelling import (
    balance,
    cancel,
    cancel_and_drain,
    fault,
    on_hand,
    order,
    payment,
    place,
    reservation,
)
from payments.models import LedgerEntry, Payment, Refund
from sagas.consistency import find_violations
from sagas.models import Direction, SagaStatus
from sagas.participant import faults

pytestmark = pytest.mark.django_db(databases="__all__")

F, C = Direction.FORWARD, Direction.COMPENSATION


def trail(saga):
    return [
        (log.step_name, log.direction, log.status)
        for log in saga.steps.filter(direction__in=[F, C]).order_by("started_at", "id")
    ]


def test_a_confirmed_order_is_cancelled_its_money_refunded_and_its_stock_returned(shop):
    placed = place(quantity=2)
    assert balance() == Decimal("950.00") and on_hand() == 8
    started = cancel(placed)
    assert started.path == CancelPath.CANCELLATION and started.created
    assert started.saga.definition_name == NAME
    assert started.saga.business_key == placed.business_key and started.saga.party == placed.party
    cancellation = cancel_and_drain_started(started)
    assert cancellation.status == SagaStatus.COMPLETED
    assert order(placed).status == Order.Status.CANCELLED
    assert payment(placed).status == Payment.Status.REFUNDED
    assert Refund.objects.using("payments").get(payment=payment(placed)).amount == Decimal("50.00")
    assert reservation(placed).status == Reservation.Status.RETURNED
    assert balance() == Decimal("1000.00") and on_hand() == 10
    assert trail(cancellation) == [
        ("mark_cancelling", F, "SUCCEEDED"),
        ("refund_payment", F, "SUCCEEDED"),
        ("return_stock", F, "SUCCEEDED"),
        ("mark_cancelled", F, "SUCCEEDED"),
    ]
    assert find_violations() == []


def cancel_and_drain_started(started):
    from sagas.testing.drain import drain

    drain()
    started.saga.refresh_from_db()
    return started.saga


def test_a_lost_answer_after_the_refund_does_not_refund_twice(shop):
    placed = place(quantity=2)
    fault("payments.payment_refund_order", "transient", phase="after", remaining=1)
    cancellation = cancel_and_drain(placed)
    assert cancellation.status == SagaStatus.COMPLETED
    assert balance() == Decimal("1000.00")
    refunds = LedgerEntry.objects.using("payments").filter(kind=LedgerEntry.Kind.REFUND)
    assert [entry.amount for entry in refunds] == [Decimal("50.00")]
    assert find_violations() == []


def test_a_lost_answer_after_the_return_does_not_return_the_stock_twice(shop):
    placed = place(quantity=2)
    fault("inventory.stock_return", "transient", phase="after", remaining=1)
    cancellation = cancel_and_drain(placed)
    assert cancellation.status == SagaStatus.COMPLETED
    assert on_hand() == 10
    assert StockMovement.objects.using("inventory").filter(kind=StockMovement.Kind.RETURNED).count() == 1
    assert find_violations() == []


def test_a_refused_refund_puts_the_order_back_to_confirmed(shop):
    placed = place(quantity=2)
    fault("payments.payment_refund_order", "refuse")
    cancellation = cancel_and_drain(placed)
    assert cancellation.status == SagaStatus.COMPENSATED
    assert trail(cancellation) == [
        ("mark_cancelling", F, "SUCCEEDED"),
        ("refund_payment", F, "REFUSED"),
        ("mark_cancelling", C, "SUCCEEDED"),
    ]
    assert order(placed).status == Order.Status.APPROVED
    assert payment(placed).status == Payment.Status.CAPTURED
    assert balance() == Decimal("950.00") and on_hand() == 8
    assert find_violations() == []


def test_after_an_undone_cancellation_the_customer_may_cancel_again(shop):
    placed = place(quantity=2)
    rule = fault("payments.payment_refund_order", "refuse")
    assert cancel_and_drain(placed).status == SagaStatus.COMPENSATED
    rule.delete()
    faults.clear_cache()
    again = cancel(placed)
    assert again.created
    assert cancel_and_drain_started(again).status == SagaStatus.COMPLETED
    assert order(placed).status == Order.Status.CANCELLED
    assert balance() == Decimal("1000.00")
    assert find_violations() == []


def test_a_refund_that_keeps_failing_stops_for_an_operator_without_undoing_anything(shop):
    placed = place(quantity=2)
    fault("payments.payment_refund_order", "transient")
    cancellation = cancel_and_drain(placed)
    # The refund may have gone through: only a person may decide (retry it), never a blind undo.
    assert cancellation.status == SagaStatus.FAILED
    assert cancellation.current_step == "refund_payment"
    assert order(placed).status == Order.Status.CANCELLING
