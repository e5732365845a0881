"""Orders as the API shows them: the saga that places an order, joined with the order row.

An order exists from the moment its saga starts, but the saga's first step creates the order
row, so until then the order reads as PLACING. Reads filter by viewer, so another customer's
order is simply not found (404) and its existence is not given away.
"""

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext, gettext_lazy

from orders import events as ev
from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.models import Order
from orders.placement import ORDER_SAGA
from sagas.api.permissions import staff_may_view
from sagas.engine.notes import note_in_language
from sagas.models import SagaInstance, SagaStatus
from sagas.participant.customers import customer_key

ALIAS = "orders"
PLACING = "PLACING"
ORDER_STATUSES = [(PLACING, gettext_lazy("Placing")), *Order.Status.choices]


# A stored refusal names, before its sentence, the step and the exception that carried it
# ("charge_payment: InsufficientFunds: ...") or, choreographed, the event ("payment-declined: ...").
# (orders/handlers.py cancels the order with the reason of the event that asked it to.)
_EVENT_NAMES = "|".join(re.escape(name) for name in (ev.STOCK_REJECTED, ev.PAYMENT_DECLINED, ev.ORDER_CANCEL_REQUESTED))
_MACHINE_PREFIX = re.compile(rf"^(?:[a-z][a-z0-9_]*: [A-Z][A-Za-z0-9]*: |(?:{_EVENT_NAMES}): )")


def in_plain_words(text: str) -> str:
    """A stored reason as a customer reads it: its sentence alone, in the reader's language."""
    return _MACHINE_PREFIX.sub("", note_in_language(text or ""))


@dataclass(frozen=True)
class PlacedOrder:
    saga: SagaInstance
    order: Order | None
    # The saga cancelling the confirmed order, the latest if several; read for one order, not for lists.
    cancellation: SagaInstance | None = None

    @property
    def id(self) -> uuid.UUID:
        return self.saga.business_key

    @property
    def status(self) -> str:
        if self.order is not None:
            return self.order.status
        if self.saga.status == SagaStatus.COMPENSATED:
            return Order.Status.CANCELLED
        return PLACING

    @property
    def cancel_reason(self) -> str:
        if self.status != Order.Status.CANCELLED:
            return ""
        if self.order is not None and self.order.cancel_reason:
            return in_plain_words(self.order.cancel_reason)
        # The refusal that made the saga compensate says it in the customer's terms.
        return in_plain_words(self.saga.last_error) or gettext("The order could not be placed.")

    @property
    def _input(self) -> dict[str, Any]:
        return (self.saga.context or {}).get("input") or {}

    @property
    def customer(self) -> str:
        """The customer's key; the API shows their username."""
        return self.saga.party

    @property
    def sku(self) -> str:
        return str(self._input.get("sku", ""))

    @property
    def quantity(self) -> int:
        return int(self._input.get("quantity") or 0)

    @property
    def unit_price(self) -> Decimal:
        return Decimal(str(self._input.get("unit_price") or "0"))

    @property
    def total(self) -> Decimal:
        return self.order.total if self.order is not None else Decimal(str(self._input.get("total") or "0"))

    @property
    def created_at(self) -> Any:
        return self.saga.created_at


def sees_every_order(user: Any) -> bool:
    """Staff whom the admin would show every order (the view permission on orders) see them all here."""
    return staff_may_view(user, Order)


def order_sagas_visible_to(user: Any) -> QuerySet[SagaInstance]:
    """The sagas that place orders the user may see: their own, or every one for `sees_every_order`."""
    # The placement saga is the order; its cancellation saga shares the order's id as business key.
    sagas = SagaInstance.objects.filter(definition_name=ORDER_SAGA, business_key__isnull=False)
    if sees_every_order(user):
        return sagas
    # A visitor has no customer key and owns no order (the schema generator asks as one).
    return sagas.filter(party=customer_key(user)) if user.is_authenticated else sagas.none()


def placed_orders_of(sagas: list[SagaInstance]) -> list[PlacedOrder]:
    """The orders those sagas place, with their order rows read in one query."""
    rows = Order.objects.using(ALIAS).in_bulk([saga.business_key for saga in sagas])
    return [PlacedOrder(saga, rows.get(saga.business_key)) for saga in sagas]


def placed_order_get(order_id: str, viewer: Any) -> PlacedOrder | None:
    """The order if the viewer may see it; None for a malformed, unknown or someone else's id."""
    try:
        parsed = uuid.UUID(str(order_id))
    except ValueError:
        return None
    saga = order_sagas_visible_to(viewer).filter(business_key=parsed).first()
    if saga is None:
        return None
    cancellation = (
        SagaInstance.objects.filter(definition_name=CANCELLATION_SAGA, business_key=parsed, party=saga.party)
        .order_by("-created_at", "-id")
        .first()
    )
    return PlacedOrder(saga, Order.objects.using(ALIAS).filter(pk=parsed).first(), cancellation)


def placed_order_of(saga: SagaInstance) -> PlacedOrder:
    """The order a saga places, as it stands now."""
    return PlacedOrder(saga, Order.objects.using(ALIAS).filter(pk=saga.business_key).first())
