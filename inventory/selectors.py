"""Read-only queries on the inventory database."""

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet

from inventory.models import InboxEvent, OutboxEvent, Product, Reservation
from sagas.participant.outbox import Event, pending

ALIAS = "inventory"


def product_get(sku: str) -> Product | None:
    """The product with this SKU, or None."""
    return Product.objects.using(ALIAS).filter(sku=sku).first()


def product_list(active_only: bool = True) -> QuerySet[Product]:
    """Products by SKU, only those for sale unless told otherwise."""
    products = Product.objects.using(ALIAS).order_by("sku")
    return products.filter(active=True) if active_only else products


def product_names(skus: Iterable[str]) -> dict[str, str]:
    """The name customers know each product by, keyed by SKU; unknown SKUs are left out."""
    wanted = {sku for sku in skus if sku}
    if not wanted:
        return {}
    return dict(Product.objects.using(ALIAS).filter(sku__in=wanted).values_list("sku", "name"))


def reservations_for_order(order_id: str) -> QuerySet[Reservation]:
    """Every reservation made for an order."""
    return Reservation.objects.using(ALIAS).filter(order_id=order_id).select_related("product")


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
