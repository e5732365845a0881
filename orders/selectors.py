"""Read-only queries on the orders database."""

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet

from orders.models import InboxEvent, Order, OutboxEvent
from sagas.participant.outbox import Event, pending

ALIAS = "orders"


def order_get(order_id: uuid.UUID | str) -> Order | None:
    """The order with its lines, or None."""
    return Order.objects.using(ALIAS).prefetch_related("lines").filter(pk=order_id).first()


def order_list_for_customer(customer: str) -> QuerySet[Order]:
    """A customer's orders, newest first."""
    return Order.objects.using(ALIAS).filter(customer=customer).prefetch_related("lines").order_by("-created_at")


def order_get_for_customer(order_id: uuid.UUID | str, customer: str) -> Order | None:
    """The customer's order with its lines; None for an unknown order or someone else's."""
    return order_list_for_customer(customer).filter(pk=order_id).first()


def orders_by_id(order_ids: Iterable[uuid.UUID | str]) -> dict[str, Order]:
    """Orders with their lines keyed by id as text; ids with no order yet are left out."""
    ids = [str(order_id) for order_id in order_ids]
    if not ids:
        return {}
    return {str(order.pk): order for order in Order.objects.using(ALIAS).filter(pk__in=ids).prefetch_related("lines")}


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
