import uuid
from decimal import Decimal

import pytest

from payments import services
from payments.errors import AccountNotFound, InsufficientFunds
from payments.models import CustomerAccount, LedgerEntry, Payment, Refund
from payments.tests.factories import AccountFactory
from sagas.participant.refusals import ActionBlocked

pytestmark = pytest.mark.django_db(databases=["default", "payments"])


def balance(customer: str) -> Decimal:
    return CustomerAccount.objects.using("payments").get(customer=customer).balance


def charge(customer="dora", amount="40.00", key="c1"):
    return services.payment_charge(key=key, order_id=uuid.uuid4(), customer=customer, amount=amount)


def test_charge_moves_money_out_of_the_balance_and_into_the_ledger():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    result = charge()
    assert balance("dora") == Decimal("60.00")
    payment = Payment.objects.using("payments").get(pk=result["payment_id"])
    assert payment.amount == Decimal("40.00") and payment.status == Payment.Status.CAPTURED
    assert LedgerEntry.objects.using("payments").filter(payment=payment, amount=Decimal("-40.00")).count() == 1


def test_charge_twice_with_one_key_has_one_effect():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    assert charge(key="same") == charge(key="same")
    assert balance("dora") == Decimal("60.00")
    assert Payment.objects.using("payments").count() == 1


def test_insufficient_funds_is_a_business_refusal_that_replays():
    AccountFactory(customer="dora", balance=Decimal("10.00"))
    with pytest.raises(InsufficientFunds):
        charge(amount="40.00", key="poor")
    with pytest.raises(InsufficientFunds):
        charge(amount="1.00", key="poor")
    assert balance("dora") == Decimal("10.00")
    assert not Payment.objects.using("payments").exists()


def test_unknown_customer_is_refused():
    with pytest.raises(AccountNotFound):
        charge(customer="nobody")


def test_money_is_never_a_float():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    with pytest.raises(TypeError):
        charge(amount=40.0)


def test_refund_gives_the_money_back_once():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    charge(key="pay")
    services.payment_refund(key="pay:undo", charge_key="pay")
    services.payment_refund(key="pay:undo", charge_key="pay")
    assert balance("dora") == Decimal("100.00")
    assert Refund.objects.using("payments").count() == 1
    assert Payment.objects.using("payments").get(key="pay").status == Payment.Status.REFUNDED


def test_refund_before_the_charge_is_empty_and_blocks_the_late_charge():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    assert services.payment_refund(key="late:undo", charge_key="late")["empty"] is True
    with pytest.raises(ActionBlocked):
        charge(key="late")
    assert balance("dora") == Decimal("100.00")
    assert not Payment.objects.using("payments").exists()


def test_refund_of_a_refused_charge_does_nothing():
    AccountFactory(customer="dora", balance=Decimal("5.00"))
    with pytest.raises(InsufficientFunds):
        charge(key="refused")
    assert services.payment_refund(key="refused:undo", charge_key="refused")["empty"] is True
    assert balance("dora") == Decimal("5.00")
