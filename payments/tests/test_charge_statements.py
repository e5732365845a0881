"""What a charge costs in statements on the payments database, and that its refusals still say why.

The counts are taken inside the test's transaction, where the call's own transaction is a
savepoint: SAVEPOINT and RELEASE stand where a worker's call has BEGIN and COMMIT, one for one.
"""

import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from payments import services
from payments.errors import AccountNotFound, InsufficientFunds
from payments.models import CustomerAccount, IdempotencyRecord, LedgerEntry, Payment
from payments.tests.factories import AccountFactory
from sagas.participant.refusals import ActionBlocked

pytestmark = pytest.mark.django_db(databases=["default", "payments"])


def charge(customer="dora", amount="40.00", key="c1"):
    return services.payment_charge(key=key, order_id=uuid.uuid4(), customer=customer, amount=amount)


@pytest.mark.postgres
def test_a_charge_is_its_debit_payment_ledger_entry_and_record_in_one_transaction():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    with CaptureQueriesContext(connections["payments"]) as statements:
        charge()
    # Begin, the conditional debit (returning the account), the payment, the ledger entry, the record, commit.
    assert len(statements) == 6, [query["sql"][:80] for query in statements]
    assert not [query for query in statements if query["sql"].startswith("SELECT")]


def test_insufficient_funds_says_what_was_asked_and_what_is_available():
    AccountFactory(customer="dora", balance=Decimal("10.00"))
    with pytest.raises(InsufficientFunds) as refused:
        charge(amount="40.00", key="poor")
    assert refused.value.message == "Insufficient funds: 40.00 asked, 10.00 available."
    assert refused.value.details == {"customer": "dora", "amount": "40.00"}
    assert CustomerAccount.objects.using("payments").get(customer="dora").balance == Decimal("10.00")
    assert not Payment.objects.using("payments").exists()
    assert not LedgerEntry.objects.using("payments").filter(kind=LedgerEntry.Kind.CHARGE).exists()


def test_insufficient_funds_is_recorded_and_replayed_with_the_same_words():
    AccountFactory(customer="dora", balance=Decimal("10.00"))
    with pytest.raises(InsufficientFunds):
        charge(amount="40.00", key="poor")
    with pytest.raises(InsufficientFunds) as replayed:
        charge(amount="1.00", key="poor")
    assert replayed.value.message == "Insufficient funds: 40.00 asked, 10.00 available."
    record = IdempotencyRecord.objects.using("payments").get(key="poor")
    assert record.outcome == "REFUSED" and record.result["code"] == "insufficient_funds"


def test_an_unknown_customer_is_refused_by_name():
    with pytest.raises(AccountNotFound) as refused:
        charge(customer="nobody")
    assert refused.value.message == "No account for nobody."
    assert refused.value.details == {"customer": "nobody"}


def test_a_charge_of_the_whole_balance_leaves_zero():
    AccountFactory(customer="dora", balance=Decimal("40.00"))
    result = charge(amount="40.00")
    assert result["amount"] == "40.00"
    payment = Payment.objects.using("payments").get(pk=result["payment_id"])
    assert payment.account.customer == "dora"
    assert CustomerAccount.objects.using("payments").get(customer="dora").balance == Decimal("0.00")


@pytest.mark.postgres
def test_a_refund_reads_and_locks_both_records_in_one_statement():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    charge(key="c1")
    with CaptureQueriesContext(connections["payments"]) as statements:
        services.payment_refund(key="c1:refund", charge_key="c1")
    # Begin, both records, the payment, the balance, the payment's status, the refund, the ledger entry,
    # the charge's record marked compensated, the refund's record, commit.
    assert len(statements) == 10, [query["sql"][:80] for query in statements]
    assert CustomerAccount.objects.using("payments").get(customer="dora").balance == Decimal("100.00")


@pytest.mark.postgres
def test_a_refund_of_a_charge_that_never_ran_blocks_it_and_the_late_charge_is_refused():
    AccountFactory(customer="dora", balance=Decimal("100.00"))
    with CaptureQueriesContext(connections["payments"]) as statements:
        result = services.payment_refund(key="c1:refund", charge_key="c1")
    # Begin, both records (neither there), the blocking record, the refund's record, commit.
    assert len(statements) == 5, [query["sql"][:80] for query in statements]
    assert result["empty"] is True
    with pytest.raises(ActionBlocked):
        charge(key="c1")
    assert CustomerAccount.objects.using("payments").get(customer="dora").balance == Decimal("100.00")
