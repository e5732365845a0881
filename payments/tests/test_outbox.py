"""Payments records the event it handled and the event it publishes with each charge or refund."""

import uuid
from decimal import Decimal

import pytest

from payments import selectors, services
from payments.errors import InsufficientFunds
from payments.models import InboxEvent, OutboxEvent, Payment
from payments.tests.factories import AccountFactory
from sagas.participant.outbox import Reaction, new_event
from sagas.participant.refusals import ActionBlocked

pytestmark = pytest.mark.django_db(databases=["default", "payments"])

SAGA = str(uuid.uuid4())
ORDER = {"customer": "alice", "sku": "WIDGET-1", "quantity": 2, "unit_price": "25.00", "total": "50.00"}


@pytest.fixture
def alice():
    return AccountFactory(customer="alice", balance=Decimal("100.00"))


def event(event_type, sequence):
    return new_event(event_type, source="x", saga_id=SAGA, order_id=uuid.uuid4(), sequence=sequence, order=ORDER)


def charge(cause, amount="50.00"):
    return services.payment_charge(
        key="charge-1",
        order_id=cause.order_id,
        customer="alice",
        amount=amount,
        publish=Reaction(
            cause, "payments.charge_payment", on_applied="payment-captured", on_refused="payment-declined"
        ),
    )


def published():
    return [(row.event_type, row.sequence) for row in OutboxEvent.objects.using("payments").order_by("created_at")]


def test_a_charge_is_announced_once_however_often_it_is_asked(alice):
    cause = event("stock-reserved", 3)
    charge(cause)
    charge(cause)
    assert published() == [("payment-captured", 4)]
    assert Payment.objects.using("payments").count() == 1
    assert selectors.event_handled(cause.id, "payments.charge_payment")
    assert InboxEvent.objects.using("payments").count() == 1


def test_a_declined_charge_is_announced_with_its_reason(alice):
    with pytest.raises(InsufficientFunds):
        charge(event("stock-reserved", 3), amount="500.00")
    assert published() == [("payment-declined", 4)]
    assert OutboxEvent.objects.using("payments").get().payload["data"]["code"] == "insufficient_funds"
    assert selectors.account_get("alice").balance == Decimal("100.00")


def test_a_refund_that_overtakes_the_charge_is_announced_and_blocks_it(alice):
    refund = services.payment_refund(
        key="refund-1",
        charge_key="charge-1",
        publish=Reaction(event("order-cancelled", 3), "payments.refund_payment", on_applied="payment-refunded"),
    )
    assert refund["empty"] is True
    with pytest.raises(ActionBlocked):
        charge(event("stock-reserved", 3))
    assert published() == [("payment-refunded", 4)]
    assert selectors.account_get("alice").balance == Decimal("100.00")


def test_giving_up_a_charge_announces_the_decline_and_blocks_a_late_one(alice):
    cause = event("stock-reserved", 3)
    reaction = Reaction(cause, "payments.charge_payment", on_refused="payment-declined")
    assert services.payment_charge_abandon(key="charge-1", reason="gave up after 3 failed attempts", publish=reaction)
    with pytest.raises(ActionBlocked):
        charge(cause)
    assert published() == [("payment-declined", 4)]
