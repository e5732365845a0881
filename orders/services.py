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
from sagas.participant.returning import update_returning

ALIAS = "orders"


def _recorder(publish: Reaction | None, key: str) -> outbox.Hook | None:
    return outbox.recorder(OutboxEvent, InboxEvent, ALIAS, "orders", publish, key)


_ALLOWED = {
    Order.Status.PENDING: {Order.Status.APPROVED, Order.Status.CANCELLED},
    # A confirmed order is cancelled through CANCELLING (the cancellation saga), never at once.
    Order.Status.APPROVED: {Order.Status.CANCELLING},
    Order.Status.CANCELLING: {Order.Status.APPROVED, Order.Status.CANCELLED},
    Order.Status.CANCELLED: set(),
}


def _transition(order: Order, to: str, reason: str = "", *, source: Collection[str] | None = None) -> bool:
    """Move an order to `to`; a repeat of the same move does nothing and returns False.

    `source`, when given, narrows the statuses the move may start from: each operation moves
    the order along its own path only.
    """
    if order.status == to:
        return False
    if to not in _ALLOWED[order.status] or (source is not None and order.status not in source):
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
        # The placement's compensation cancels an order it placed, never one being cancelled later.
        _transition(order, Order.Status.CANCELLED, reason, source={Order.Status.PENDING})
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
        # A pending order is approved in one statement; any other is read (and locked) to say why not.
        approved = update_returning(
            Order.objects.using(ALIAS).filter(pk=order_id, status=Order.Status.PENDING),
            ["id"],
            status=Order.Status.APPROVED,
        )
        if approved:
            return {"order_id": str(approved[0]["id"]), "status": Order.Status.APPROVED}
        order = _locked_order(order_id)
        _transition(order, Order.Status.APPROVED)
        return {"order_id": str(order.id), "status": order.status}

    result = perform_once(IdempotencyRecord, ALIAS, key, "order_approve", effect, _recorder(publish, key))
    faults.inject("orders.order_approve", phase="after")
    return result


# --- cancelling a confirmed order (the order cancellation saga) ------------------------------


def _locked_order(order_id: uuid.UUID | str) -> Order:
    order = Order.objects.using(ALIAS).select_for_update().filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound(f"No order {order_id}.", order_id=str(order_id))
    return order


def order_mark_cancelling(*, key: str, order_id: uuid.UUID | str, reason: str = "") -> dict[str, Any]:
    """Mark a confirmed (APPROVED) order CANCELLING: its money and stock are about to go back.

    Refuses with OrderNotFound, or InvalidOrderTransition when the order is not confirmed.
    """
    faults.inject("orders.order_mark_cancelling")

    def effect() -> dict[str, Any]:
        order = _locked_order(order_id)
        _transition(order, Order.Status.CANCELLING, reason, source={Order.Status.APPROVED})
        return {"order_id": str(order.id), "status": order.status}

    result = perform_once(IdempotencyRecord, ALIAS, key, "order_mark_cancelling", effect)
    faults.inject("orders.order_mark_cancelling", phase="after")
    return result


def order_unmark_cancelling(*, key: str, mark_key: str) -> dict[str, Any]:
    """Undo order_mark_cancelling under `mark_key`: the order is confirmed (APPROVED) again."""
    faults.inject("orders.order_unmark_cancelling")

    def undo(action: IdempotencyRecord) -> dict[str, Any]:
        order = _locked_order(action.result["order_id"])
        # A repeat finds it APPROVED already; a CANCELLED order stays so (past the pivot, never undone).
        if order.status == Order.Status.CANCELLING:
            order.status = Order.Status.APPROVED
            order.cancel_reason = ""
            order.save(update_fields=["status", "cancel_reason", "updated_at"])
        return {"order_id": str(order.id), "status": order.status}

    result = compensate_once(
        IdempotencyRecord,
        ALIAS,
        key=key,
        action_key=mark_key,
        operation="order_unmark_cancelling",
        action_operation="order_mark_cancelling",
        undo=undo,
    )
    faults.inject("orders.order_unmark_cancelling", phase="after")
    return result


def order_mark_cancelled(*, key: str, order_id: uuid.UUID | str) -> dict[str, Any]:
    """Mark a CANCELLING order CANCELLED: its money and stock are back."""
    faults.inject("orders.order_mark_cancelled")

    def effect() -> dict[str, Any]:
        order = _locked_order(order_id)
        _transition(order, Order.Status.CANCELLED, source={Order.Status.CANCELLING})
        return {"order_id": str(order.id), "status": order.status}

    result = perform_once(IdempotencyRecord, ALIAS, key, "order_mark_cancelled", effect)
    faults.inject("orders.order_mark_cancelled", phase="after")
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
