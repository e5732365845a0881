"""Inventory operations: the only code that writes the inventory database.

Every operation a saga calls takes an idempotency key and runs in one transaction on the
`inventory` alias together with the record of that key.
"""

import uuid
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from inventory.errors import OutOfStock, ProductInactive, ProductNotFound, ReservationNotFound
from inventory.models import IdempotencyRecord, InboxEvent, OutboxEvent, Product, Reservation, StockMovement
from sagas.participant import faults, outbox
from sagas.participant.idempotency import abandon_once, compensate_once, perform_once
from sagas.participant.money import to_money
from sagas.participant.outbox import Reaction
from sagas.participant.returning import update_returning

ALIAS = "inventory"


def _recorder(publish: Reaction | None, key: str) -> outbox.Hook | None:
    return outbox.recorder(OutboxEvent, InboxEvent, ALIAS, "inventory", publish, key)


def product_register(sku: str, name: str, unit_price: Decimal | str, initial_stock: int = 0) -> Product:
    """Create a product with its first stock receipt; an existing SKU is returned unchanged."""
    with transaction.atomic(using=ALIAS):
        product, created = Product.objects.using(ALIAS).get_or_create(
            sku=sku, defaults={"name": name, "unit_price": to_money(unit_price)}
        )
        if created and initial_stock:
            _receive(product, initial_stock)
    product.refresh_from_db(using=ALIAS)
    return product


def _receive(product: Product, quantity: int) -> None:
    Product.objects.using(ALIAS).filter(pk=product.pk).update(stock_on_hand=F("stock_on_hand") + quantity)
    StockMovement.objects.using(ALIAS).create(product=product, kind=StockMovement.Kind.RECEIVED, quantity=quantity)


def stock_reserve(
    *, key: str, order_id: uuid.UUID | str, sku: str, quantity: int, publish: Reaction | None = None
) -> dict[str, Any]:
    """Reserve units of a product for an order, never more than are on hand.

    Refuses with ProductNotFound, ProductInactive or OutOfStock. The decrement is a
    conditional update, so concurrent reservations of the last units cannot oversell.
    """
    if quantity <= 0:
        raise ValueError("A reservation must be for at least one unit.")
    faults.inject("inventory.stock_reserve")

    def effect() -> dict[str, Any]:
        # The decrement and its conditions in one statement; the product is read only to say why it refused.
        taken = update_returning(
            Product.objects.using(ALIAS).filter(sku=sku, active=True, stock_on_hand__gte=quantity),
            ["id", "unit_price"],
            stock_on_hand=F("stock_on_hand") - quantity,
        )
        if not taken:
            product = Product.objects.using(ALIAS).filter(sku=sku).first()
            if product is None:
                raise ProductNotFound(_("No product with SKU %(sku)s.") % {"sku": sku}, sku=sku)
            if not product.active:
                raise ProductInactive(_("%(sku)s is not for sale.") % {"sku": sku}, sku=sku)
            raise OutOfStock(
                _("Only %(stock)s of %(sku)s in stock, %(asked)s asked.")
                % {"stock": product.stock_on_hand, "sku": sku, "asked": quantity},
                sku=sku,
                requested=quantity,
            )
        product_id, unit_price = taken[0]["id"], taken[0]["unit_price"]
        reservation = Reservation.objects.using(ALIAS).create(
            key=key, order_id=order_id, product_id=product_id, quantity=quantity
        )
        StockMovement.objects.using(ALIAS).create(
            product_id=product_id,
            kind=StockMovement.Kind.RESERVED,
            quantity=-quantity,
            reservation=reservation,
            key=key,
        )
        return {
            "reservation_id": reservation.pk,
            "sku": sku,
            "quantity": quantity,
            "unit_price": str(unit_price),
        }

    result = perform_once(IdempotencyRecord, ALIAS, key, "stock_reserve", effect, _recorder(publish, key))
    faults.inject("inventory.stock_reserve", phase="after")
    return result


def reservation_release(*, key: str, reserve_key: str, publish: Reaction | None = None) -> dict[str, Any]:
    """Give the units of the reservation made under `reserve_key` back to stock."""
    faults.inject("inventory.reservation_release")

    def undo(_action: IdempotencyRecord) -> dict[str, Any]:
        reservation = Reservation.objects.using(ALIAS).select_for_update().get(key=reserve_key)
        if reservation.status != Reservation.Status.ACTIVE:
            return {"reservation_id": reservation.pk, "released": 0, "status": reservation.status}
        Product.objects.using(ALIAS).filter(pk=reservation.product_id).update(
            stock_on_hand=F("stock_on_hand") + reservation.quantity
        )
        reservation.status = Reservation.Status.RELEASED
        reservation.save(update_fields=["status", "updated_at"])
        StockMovement.objects.using(ALIAS).create(
            product_id=reservation.product_id,
            kind=StockMovement.Kind.RELEASED,
            quantity=reservation.quantity,
            reservation=reservation,
            key=key,
        )
        return {"reservation_id": reservation.pk, "released": reservation.quantity}

    result = compensate_once(
        IdempotencyRecord,
        ALIAS,
        key=key,
        action_key=reserve_key,
        operation="reservation_release",
        action_operation="stock_reserve",
        undo=undo,
        publish=_recorder(publish, key),
    )
    faults.inject("inventory.reservation_release", phase="after")
    return result


def reservation_commit(*, key: str, reserve_key: str, publish: Reaction | None = None) -> dict[str, Any]:
    """Turn the active reservation made under `reserve_key` into a final sale."""
    faults.inject("inventory.reservation_commit")

    def effect() -> dict[str, Any]:
        committed = _commit_active(reserve_key, key)
        if committed is not None:
            return committed
        # Not active when the update looked: missing or released refuses, committed (or returned since) counts.
        reservation = Reservation.objects.using(ALIAS).select_for_update().filter(key=reserve_key).first()
        if reservation is None or reservation.status == Reservation.Status.RELEASED:
            raise ReservationNotFound(
                _("No active reservation under %(key)s.") % {"key": reserve_key}, reserve_key=reserve_key
            )
        if reservation.status == Reservation.Status.ACTIVE:
            # Its reserve committed after the update looked; the row is locked now, so this one takes it.
            committed = _commit_active(reserve_key, key)
            if committed is not None:
                return committed
        return {"reservation_id": reservation.pk, "committed": reservation.quantity}

    result = perform_once(IdempotencyRecord, ALIAS, key, "reservation_commit", effect, _recorder(publish, key))
    faults.inject("inventory.reservation_commit", phase="after")
    return result


def _commit_active(reserve_key: str, key: str) -> dict[str, Any] | None:
    """Commit the reservation under `reserve_key` if it is active, with its movement; None if it is not."""
    # One statement for the status check and the change; the row stays locked to the end of the transaction.
    committed = update_returning(
        Reservation.objects.using(ALIAS).filter(key=reserve_key, status=Reservation.Status.ACTIVE),
        ["id", "product_id", "quantity"],
        status=Reservation.Status.COMMITTED,
    )
    if not committed:
        return None
    row = committed[0]
    StockMovement.objects.using(ALIAS).create(
        product_id=row["product_id"], kind=StockMovement.Kind.COMMITTED, quantity=0, reservation_id=row["id"], key=key
    )
    return {"reservation_id": row["id"], "committed": row["quantity"]}


def stock_return(*, key: str, order_id: uuid.UUID | str) -> dict[str, Any]:
    """Put the stock committed to a cancelled order back on the shelf.

    Each COMMITTED reservation of the order becomes RETURNED and its units go back on hand,
    with a RETURNED stock movement, in one transaction with the record of `key`. A reservation
    is returned at most once whatever the key (only a committed one is), so one already
    returned counts as returned. Refuses with ReservationNotFound when the order has neither.
    """
    faults.inject("inventory.stock_return")

    def effect() -> dict[str, Any]:
        reservations = list(
            Reservation.objects.using(ALIAS).select_for_update().filter(order_id=order_id).order_by("pk")
        )
        settled = [r for r in reservations if r.status in (Reservation.Status.COMMITTED, Reservation.Status.RETURNED)]
        if not settled:
            raise ReservationNotFound(
                _("No stock was committed to order %(order)s.") % {"order": order_id}, order_id=str(order_id)
            )
        returned = []
        for reservation in settled:
            if reservation.status == Reservation.Status.COMMITTED:
                _return(reservation, key)
                returned.append({"reservation_id": reservation.pk, "quantity": reservation.quantity})
        return {"order_id": str(order_id), "returned": returned}

    result = perform_once(IdempotencyRecord, ALIAS, key, "stock_return", effect)
    faults.inject("inventory.stock_return", phase="after")
    return result


def _return(reservation: Reservation, key: str) -> None:
    """Put a committed reservation's units back on hand; the caller holds its row lock."""
    Product.objects.using(ALIAS).filter(pk=reservation.product_id).update(
        stock_on_hand=F("stock_on_hand") + reservation.quantity
    )
    reservation.status = Reservation.Status.RETURNED
    reservation.save(update_fields=["status", "updated_at"])
    StockMovement.objects.using(ALIAS).create(
        product_id=reservation.product_id,
        kind=StockMovement.Kind.RETURNED,
        quantity=reservation.quantity,
        reservation=reservation,
        key=key,
    )


def stock_reserve_abandon(*, key: str, reason: str, publish: Reaction | None = None) -> bool:
    """Give up the reservation under `key` unless it already has an outcome.

    A late reserve under that key is refused from now on, and `publish` announces the
    rejection in the same transaction. False when the reserve already ran (or was refused).
    """
    return abandon_once(IdempotencyRecord, ALIAS, key, "stock_reserve", reason, _recorder(publish, key))


# --- choreography: the outbox relay ----------------------------------------------------------


def outbox_relay(*, older_than_seconds: float | None = None, limit: int = 1000) -> list[outbox.Event]:
    """Queue delivery of this service's events that no relay has handed over yet (after a crash)."""
    return outbox.relay(OutboxEvent, ALIAS, older_than_seconds=older_than_seconds, limit=limit)


def outbox_purge(*, before: datetime, keep_saga_ids: Collection[uuid.UUID | str] = ()) -> tuple[int, int]:
    """Delete delivered events and inbox records older than `before`, except those of `keep_saga_ids`.

    Returns both counts.
    """
    return outbox.purge(OutboxEvent, InboxEvent, ALIAS, before, keep_saga_ids)
