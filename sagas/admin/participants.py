"""The participants' rows behind a saga, found by order id through their own selectors.

Each participant lives on its own database; one that cannot be reached during an incident
shows as unavailable instead of taking the saga page down with it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError
from django.urls import NoReverseMatch, reverse

from inventory import selectors as inventory_selectors
from orders import selectors as order_selectors
from payments import selectors as payment_selectors
from sagas.models import SagaInstance
from sagas.participant.customers import customer_name

logger = logging.getLogger("sagas.admin")


@dataclass
class ParticipantRows:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def _admin_url(app_label: str, model_name: str, pk: Any) -> str:
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def _collect(name: str, fetch: Callable[[], list[dict[str, Any]]]) -> ParticipantRows:
    try:
        return ParticipantRows(name, fetch())
    except DatabaseError as error:
        logger.warning("admin could not read %s: %s", name, error)
        return ParticipantRows(name, error=f"The {name.lower()} database could not be read: {error}")


def participants_of(saga: SagaInstance) -> list[ParticipantRows]:
    """The order, payments and reservations of the saga's order, each with its admin link."""
    if not saga.order_id:
        return []
    order_id = str(saga.order_id)

    def order() -> list[dict[str, Any]]:
        found = order_selectors.order_get(order_id)
        if found is None:
            return []
        lines = ", ".join(str(line) for line in found.lines.all())
        return [
            {
                "label": f"Order {found.pk}",
                "status": found.status,
                "detail": f"{lines}; total {found.total}",
                "url": _admin_url("orders", "order", found.pk),
            }
        ]

    def payments() -> list[dict[str, Any]]:
        return [
            {
                "label": f"Payment #{payment.pk}",
                "status": payment.status,
                "detail": f"{payment.amount} from {customer_name(payment.account.customer)}",
                "url": _admin_url("payments", "payment", payment.pk),
            }
            for payment in payment_selectors.payments_for_order(order_id)
        ]

    def reservations() -> list[dict[str, Any]]:
        return [
            {
                "label": f"Reservation #{reservation.pk}",
                "status": reservation.status,
                "detail": f"{reservation.quantity} x {reservation.product.sku}",
                "url": _admin_url("inventory", "reservation", reservation.pk),
            }
            for reservation in inventory_selectors.reservations_for_order(order_id)
        ]

    return [_collect("Orders", order), _collect("Payments", payments), _collect("Inventory", reservations)]
