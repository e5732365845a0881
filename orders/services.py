"""Order operations: the only code that writes the orders database."""

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from orders.errors import InvalidOrderTransition, OrderNotFound
from orders.models import IdempotencyRecord, InboxEvent, Order, OrderLine, OutboxEvent
from sagas.participant import faults, outbox
from sagas.participant.idempotency import compensate_once, perform_once
from sagas.participant.money import to_money
from sagas.participant.outbox import Reaction

ALIAS = "orders"


def _recorder(publish: Reaction | None, key: str) -> outbox.Hook | None:
    return outbox.recorder(OutboxEvent, InboxEvent, ALIAS, "orders", publish, key)


_ALLOWED = {
    Order.Status.PENDING: {Order.Status.APPROVED, Order.Status.CANCELLED},
    Order.Status.APPROVED: set(),
    Order.Status.CANCELLED: set(),
}


def _transition(order: Order, to: str, reason: str = "") -> bool:
    """Move an order to `to`; a repeat of the same move does nothing and returns False."""
    if order.status == to:
        return False
    if to not in _ALLOWED[order.status]:
        raise InvalidOrderTransition(
            f"Order {order.id} is {order.status} and cannot become {to}.", order_id=str(order.id)
        )
    order.status = to
    fields = ["status", "updated_at"]
    if reason:
        order.cancel_reason = reason[:300]
        fields.append("cancel_reason")
    order.save(update_fields=fields)
    return True


def order_create(
    *,
    key: str,
    order_id: uuid.UUID | str,
    customer: str,
    lines: Iterable[dict[str, Any]],
    saga_id: uuid.UUID | str | None = None,
    publish: Reaction | None = None,
) -> dict[str, Any]:
    """Create a PENDING order with its lines; the total is computed from them.

    `customer` is the customer's key (their user id, see sagas.participant.customers). With
    `publish`, the event handled and the event announcing the result are recorded in the same
    transaction as the order (choreography).
    """
    line_list = [
        {"sku": line["sku"], "quantity": int(line["quantity"]), "unit_price": to_money(line["unit_price"])}
        for line in lines
    ]
    if not line_list:
        raise ValueError("An order needs at least one line.")
    faults.inject("orders.order_create")

    def effect() -> dict[str, Any]:
        total = sum((line["unit_price"] * line["quantity"] for line in line_list), to_money(0))
        order = Order.objects.using(ALIAS).create(id=order_id, key=key, customer=customer, total=total, saga_id=saga_id)
        OrderLine.objects.using(ALIAS).bulk_create(
            [OrderLine(order=order, line_total=line["unit_price"] * line["quantity"], **line) for line in line_list]
        )
        return {"order_id": str(order.id), "total": str(total)}

    result = perform_once(IdempotencyRecord, ALIAS, key, "order_create", effect, _recorder(publish, key))
    faults.inject("orders.order_create", phase="after")
    return result


def order_cancel(*, key: str, create_key: str, reason: str = "", publish: Reaction | None = None) -> dict[str, Any]:
    """Cancel the order created under `create_key`; an approved order cannot be cancelled."""
    faults.inject("orders.order_cancel")

    def undo(_action: IdempotencyRecord) -> dict[str, Any]:
        order = Order.objects.using(ALIAS).select_for_update().get(key=create_key)
        _transition(order, Order.Status.CANCELLED, reason)
        return {"order_id": str(order.id), "status": order.status}

    result = compensate_once(
        IdempotencyRecord,
        ALIAS,
        key=key,
        action_key=create_key,
        operation="order_cancel",
        action_operation="order_create",
        undo=undo,
        publish=_recorder(publish, key),
    )
    faults.inject("orders.order_cancel", phase="after")
    return result


def order_approve(*, key: str, order_id: uuid.UUID | str, publish: Reaction | None = None) -> dict[str, Any]:
    """Approve a PENDING order: the point after which the saga no longer compensates."""
    faults.inject("orders.order_approve")

    def effect() -> dict[str, Any]:
        order = Order.objects.using(ALIAS).select_for_update().filter(pk=order_id).first()
        if order is None:
            raise OrderNotFound(f"No order {order_id}.", order_id=str(order_id))
        _transition(order, Order.Status.APPROVED)
        return {"order_id": str(order.id), "status": order.status}

    result = perform_once(IdempotencyRecord, ALIAS, key, "order_approve", effect, _recorder(publish, key))
    faults.inject("orders.order_approve", phase="after")
    return result


# --- choreography: the outbox relay ----------------------------------------------------------


def outbox_relay(*, older_than_seconds: float | None = None, limit: int = 1000) -> list[outbox.Event]:
    """Queue delivery of this service's events that no relay has handed over yet (after a crash)."""
    return outbox.relay(OutboxEvent, ALIAS, older_than_seconds=older_than_seconds, limit=limit)


def outbox_purge(*, before: datetime, keep_saga_ids: Collection[uuid.UUID | str] = ()) -> tuple[int, int]:
    """Delete delivered events and inbox records older than `before`, except those of `keep_saga_ids`.

    Returns both counts.
    """
    return outbox.purge(OutboxEvent, InboxEvent, ALIAS, before, keep_saga_ids)
