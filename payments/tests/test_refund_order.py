"""Refunding a cancelled order: what was captured goes back once, whatever the key."""

import uuid
from decimal import Decimal

import pytest

from payments import services
from payments.errors import PaymentNotFound
from payments.models import CustomerAccount, LedgerEntry, Payment, Refund
from payments.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db(databases=["default", "payments"])


def balance(customer: str = "dora") -> Decimal:
    return CustomerAccount.objects.using("payments").get(customer=customer).balance


@pytest.fixture
def order_id():
    """An order of dora's, with 40.00 captured for it."""
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    order = uuid.uuid4()
    services.payment_charge(key="charge", order_id=order, customer="dora", amount="40.00")
    return order


def test_the_refund_gives_back_what_was_captured_with_a_refund_row_and_a_ledger_entry(order_id):
    result = services.payment_refund_order(key="refund", order_id=order_id)
    assert result["refunded"] == "40.00"
    assert balance() == Decimal("100.00")
    payment = Payment.objects.using("payments").get(order_id=order_id)
    assert payment.status == Payment.Status.REFUNDED
    assert Refund.objects.using("payments").get(payment=payment).amount == Decimal("40.00")
    refunds = LedgerEntry.objects.using("payments").filter(payment=payment, kind=LedgerEntry.Kind.REFUND)
    assert [(entry.amount, entry.key) for entry in refunds] == [(Decimal("40.00"), "refund")]


def test_the_same_key_twice_refunds_once_and_answers_alike(order_id):
    first = services.payment_refund_order(key="refund", order_id=order_id)
    assert services.payment_refund_order(key="refund", order_id=order_id) == first
    assert balance() == Decimal("100.00")
    assert Refund.objects.using("payments").count() == 1


def test_another_key_never_refunds_a_payment_twice(order_id):
    services.payment_refund_order(key="refund", order_id=order_id)
    again = services.payment_refund_order(key="another", order_id=order_id)
    assert again["refunded"] == "0.00"
    assert balance() == Decimal("100.00")
    assert LedgerEntry.objects.using("payments").filter(kind=LedgerEntry.Kind.REFUND).count() == 1


def test_a_payment_the_placement_already_gave_back_is_not_refunded_again(order_id):
    services.payment_refund(key="placement-refund", charge_key="charge")
    assert services.payment_refund_order(key="refund", order_id=order_id)["refunded"] == "0.00"
    assert balance() == Decimal("100.00")


def test_an_order_nothing_was_taken_for_is_refused_and_the_refusal_replays():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    missing = uuid.uuid4()
    for _ in range(2):
        with pytest.raises(PaymentNotFound):
            services.payment_refund_order(key="refund", order_id=missing)
    assert balance() == Decimal("100.00")
