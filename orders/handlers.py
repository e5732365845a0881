"""How the orders service reacts to events: it creates, approves or cancels its order.

Each reaction calls one service operation with the saga's idempotency key and a Reaction,
so the event handled (inbox) and the event published (outbox) commit with the effect.
"""

import contextlib
from typing import Any

from django.utils.translation import gettext_noop

from orders import events as ev
from orders import selectors, services
from orders.errors import InvalidOrderTransition
from sagas.participant.eventbus import Subscription, subscribe
from sagas.participant.outbox import Event, Reaction, event_key
from sagas.participant.refusals import BusinessRefusal

# What the handlers write in the saga's log and the order's cancel reason: stored in English,
# shown in the reader's language (registered with the notes by OrdersConfig.ready()).
NOT_CREATED = gettext_noop("the order was not created: %(reason)s")
NOT_APPROVED = gettext_noop("the order was not approved: %(reason)s")
PAST_THE_PIVOT = gettext_noop("not cancelled, the order is past the pivot: %(reason)s")
COULD_NOT_CREATE = gettext_noop("The order could not be created: %(reason)s")
COULD_NOT_APPROVE = gettext_noop("The order could not be approved: %(reason)s")
NOTES = (NOT_CREATED, NOT_APPROVED, PAST_THE_PIVOT, COULD_NOT_CREATE, COULD_NOT_APPROVE)


def _cancel(event: Event, handler: str, reason: str) -> dict[str, Any]:
    return services.order_cancel(
        key=event_key(event.saga_id, "create_order", compensate=True),
        create_key=event_key(event.saga_id, "create_order"),
        reason=reason[:300],
        publish=Reaction(event, handler, on_applied=ev.ORDER_CANCELLED),
    )


def create_order(event: Event) -> str | None:
    """order-requested: create the PENDING order and announce it."""
    order = event.order
    try:
        services.order_create(
            key=event_key(event.saga_id, "create_order"),
            order_id=event.order_id,
            customer=order["customer"],
            lines=[{"sku": order["sku"], "quantity": order["quantity"], "unit_price": order["unit_price"]}],
            saga_id=event.saga_id,
            publish=Reaction(event, "orders.create_order", on_applied=ev.ORDER_CREATED),
        )
    except BusinessRefusal as refusal:
        give_up_create(event, refusal.message)
        return NOT_CREATED % {"reason": refusal.message}
    return None


def give_up_create(event: Event, reason: str) -> None:
    """Cancelling blocks a late create (or cancels one whose answer was lost) and tells the others."""
    _cancel(event, "orders.create_order:give-up", COULD_NOT_CREATE % {"reason": reason})


def approve_order(event: Event) -> str | None:
    """payment-captured: approve the order, the pivot of the flow."""
    try:
        services.order_approve(
            key=event_key(event.saga_id, "approve_order"),
            order_id=event.order_id,
            publish=Reaction(event, "orders.approve_order", on_applied=ev.ORDER_APPROVED),
        )
    except BusinessRefusal as refusal:
        give_up_approve(event, refusal.message)
        return NOT_APPROVED % {"reason": refusal.message}
    return None


def give_up_approve(event: Event, reason: str) -> None:
    """An order that cannot be approved is cancelled, unless it was approved after all."""
    # If it is APPROVED after all, order-approved is already out and the flow goes on.
    with contextlib.suppress(InvalidOrderTransition):
        _cancel(event, "orders.approve_order:give-up", COULD_NOT_APPROVE % {"reason": reason})


def cancel_order(event: Event) -> str | None:
    """stock-rejected, payment-declined or a cancel request: cancel the order."""
    reason = event.data.get("message") or event.data.get("reason") or event.type
    try:
        _cancel(event, "orders.cancel_order", f"{event.type}: {reason}")
    except InvalidOrderTransition as refusal:
        return PAST_THE_PIVOT % {"reason": refusal.message}
    return None


def _handled(event_id: str, handler: str) -> bool:
    return selectors.event_handled(event_id, handler)


subscribe(
    Subscription(
        name="orders.create_order",
        event_types=(ev.ORDER_REQUESTED,),
        handle=create_order,
        give_up=give_up_create,
        handled=_handled,
        step="create_order",
    )
)
subscribe(
    Subscription(
        name="orders.approve_order",
        event_types=(ev.PAYMENT_CAPTURED,),
        handle=approve_order,
        give_up=give_up_approve,
        handled=_handled,
        max_attempts=5,
        step="approve_order",
    )
)
subscribe(
    Subscription(
        name="orders.cancel_order",
        event_types=(ev.STOCK_REJECTED, ev.PAYMENT_DECLINED, ev.ORDER_CANCEL_REQUESTED),
        handle=cancel_order,
        kind="compensation",
        handled=_handled,
        max_attempts=5,
        step="create_order",
        compensate=True,
    )
)
