"""Read-only queries on the orders database."""

import uuid

from django.db.models import QuerySet

from orders.models import Order

ALIAS = "orders"


def order_get(order_id: uuid.UUID | str) -> Order | None:
    """The order with its lines, or None."""
    return Order.objects.using(ALIAS).prefetch_related("lines").filter(pk=order_id).first()


def order_list_for_customer(customer: str) -> QuerySet[Order]:
    """A customer's orders, newest first."""
    return Order.objects.using(ALIAS).filter(customer=customer).prefetch_related("lines").order_by("-created_at")
