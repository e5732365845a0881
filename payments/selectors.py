"""Read-only queries on the payments database."""

import uuid
from decimal import Decimal

from django.db.models import QuerySet

from payments.models import CustomerAccount, InboxEvent, OutboxEvent, Payment
from sagas.participant.outbox import Event, pending

ALIAS = "payments"


def account_get(customer: str) -> CustomerAccount | None:
    """The account of the customer with this key (their user id), or None."""
    return CustomerAccount.objects.using(ALIAS).filter(customer=customer).first()


def account_balance(customer: str) -> Decimal | None:
    """What the customer has to spend now, or None when they have no account."""
    return CustomerAccount.objects.using(ALIAS).filter(customer=customer).values_list("balance", flat=True).first()


def payments_for_order(order_id: str) -> QuerySet[Payment]:
    """Every payment taken for an order."""
    return Payment.objects.using(ALIAS).filter(order_id=order_id).select_related("account")


def outbox_events(saga_id: uuid.UUID | str) -> list[Event]:
    """Every event this service published for a saga, in causal order."""
    rows = OutboxEvent.objects.using(ALIAS).filter(saga_id=saga_id).order_by("sequence", "created_at")
    return [Event.from_dict(row.payload) for row in rows]


def outbox_pending(older_than_seconds: float | None = None) -> list[Event]:
    """Events this service published that no relay has handed to the queue yet."""
    return [Event.from_dict(row.payload) for row in pending(OutboxEvent, ALIAS, older_than_seconds=older_than_seconds)]


def event_handled(event_id: uuid.UUID | str, handler: str) -> bool:
    """Whether `handler` already acted on the event (its inbox has it)."""
    return InboxEvent.objects.using(ALIAS).filter(event_id=event_id, handler=handler).exists()
