"""check_consistency over cancelled orders: what a broken cancellation leaves behind is reported."""

from decimal import Decimal

import pytest
from django.db.models import F

from inventory.models import Product, Reservation, StockMovement
from orders.models import Order
from orders.tests.cancelling import cancel_and_drain, fault, on_hand, order, payment, place, reservation
from payments.models import CustomerAccount, LedgerEntry, Refund
from sagas.consistency import find_violations
from sagas.models import SagaStatus

pytestmark = pytest.mark.django_db(databases="__all__")


def found():
    return sorted({(v.invariant, v.business_key) for v in find_violations()})


@pytest.fixture
def cancelled(shop):
    """A confirmed order of 2 x Widget (50.00), cancelled by its completed cancellation saga."""
    placed = place(quantity=2)
    assert cancel_and_drain(placed).status == SagaStatus.COMPLETED
    assert find_violations() == []
    return placed


def test_a_refund_paid_out_twice_is_caught(cancelled):
    refund = Refund.objects.using("payments").get(payment=payment(cancelled))
    # What a refund without its once-only guard would do the second time.
    CustomerAccount.objects.using("payments").filter(customer="alice").update(balance=F("balance") + refund.amount)
    LedgerEntry.objects.using("payments").create(
        account_id=payment(cancelled).account_id,
        kind=LedgerEntry.Kind.REFUND,
        amount=refund.amount,
        payment=payment(cancelled),
        key=refund.key,
    )
    key = str(cancelled.business_key)
    # Money no longer adds up, the ledger has more refunds than the refund rows, and one payment two refunds.
    assert {3, 6} <= {invariant for invariant, _ in found()}
    assert (6, key) in found()


def test_a_refund_short_of_what_was_captured_is_caught(cancelled):
    Refund.objects.using("payments").filter(payment=payment(cancelled)).update(amount=Decimal("20.00"))
    messages = [v.message for v in find_violations() if v.invariant == 7]
    assert messages == [f"payment {payment(cancelled).pk} captured 50.00 but 20.00 was refunded"]


def test_stock_that_never_came_back_is_caught(cancelled):
    # The return of the stock lost: the reservation still committed, the units off the shelf.
    kept = reservation(cancelled)
    StockMovement.objects.using("inventory").filter(reservation=kept, kind=StockMovement.Kind.RETURNED).delete()
    Reservation.objects.using("inventory").filter(pk=kept.pk).update(status=Reservation.Status.COMMITTED)
    Product.objects.using("inventory").filter(sku="WIDGET-1").update(stock_on_hand=F("stock_on_hand") - 2)
    assert on_hand() == 8
    violations = [v for v in find_violations() if v.invariant == 7]
    assert [v.business_key for v in violations] == [str(cancelled.business_key)] * 2
    assert {v.message for v in violations} == {
        "returned stock nothing but ordered 2 x WIDGET-1",
        "a reservation of 2 x WIDGET-1 is still COMMITTED",
    }


def test_stock_returned_twice_is_caught(cancelled):
    kept = reservation(cancelled)
    Product.objects.using("inventory").filter(sku="WIDGET-1").update(stock_on_hand=F("stock_on_hand") + 2)
    StockMovement.objects.using("inventory").create(
        product_id=kept.product_id, kind=StockMovement.Kind.RETURNED, quantity=2, reservation=kept, key="again"
    )
    assert {4, 6} <= {invariant for invariant, _ in found()}


def test_a_completed_cancellation_whose_order_is_still_confirmed_is_caught(cancelled):
    Order.objects.using("orders").filter(pk=cancelled.business_key).update(status=Order.Status.APPROVED)
    assert [(v.invariant, v.message) for v in find_violations()] == [
        (7, "the cancellation completed but the order is APPROVED")
    ]


def test_a_cancellation_stopped_past_its_pivot_is_in_flux_and_keeps_money_and_stock_whole(shop):
    placed = place(quantity=2)
    fault("inventory.stock_return", "transient")
    stopped = cancel_and_drain(placed)
    assert stopped.status == SagaStatus.FAILED and stopped.current_step == "return_stock"
    assert order(placed).status == Order.Status.CANCELLING
    # Refunded, stock not back yet: waiting for an operator, nothing is lost or counted twice.
    assert find_violations() == []


def test_an_undone_cancellation_must_leave_the_order_confirmed(shop):
    placed = place(quantity=2)
    fault("payments.payment_refund_order", "refuse")
    assert cancel_and_drain(placed).status == SagaStatus.COMPENSATED
    assert find_violations() == []
    Order.objects.using("orders").filter(pk=placed.business_key).update(status=Order.Status.CANCELLING)
    assert [(v.invariant, v.message) for v in find_violations()] == [
        (1, "the saga completed but its order is CANCELLING")
    ]
