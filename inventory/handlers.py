"""How the inventory service reacts to events: it reserves, releases or commits stock."""

from django.utils.translation import gettext_noop

from inventory import events as ev
from inventory import selectors, services
from sagas.participant.eventbus import Subscription, subscribe
from sagas.participant.outbox import Event, Reaction, event_key
from sagas.participant.refusals import ActionBlocked, BusinessRefusal

# Written in the saga's log in English, shown in the reader's language (InventoryConfig.ready()).
NOT_RESERVED = gettext_noop("not reserved, the reservation was released before it ran: %(reason)s")
NOTES = (NOT_RESERVED,)


def reserve_stock(event: Event) -> str | None:
    """order-created: reserve the units, announcing stock-reserved or stock-rejected."""
    order = event.order
    try:
        services.stock_reserve(
            key=event_key(event.saga_id, "reserve_stock"),
            order_id=event.order_id,
            sku=order["sku"],
            quantity=int(order["quantity"]),
            publish=Reaction(
                event, "inventory.reserve_stock", on_applied=ev.STOCK_RESERVED, on_refused=ev.STOCK_REJECTED
            ),
        )
    except ActionBlocked as blocked:
        return NOT_RESERVED % {"reason": blocked.message}
    except BusinessRefusal as refusal:
        # A refusal the service recorded is already announced; one that never reached it
        # (refused on the way in) is announced now.
        give_up_reserve(event, refusal.message)
    return None


def give_up_reserve(event: Event, reason: str) -> None:
    services.stock_reserve_abandon(
        key=event_key(event.saga_id, "reserve_stock"),
        reason=reason,
        publish=Reaction(event, "inventory.reserve_stock", on_refused=ev.STOCK_REJECTED),
    )


def release_stock(event: Event) -> str | None:
    """payment-declined or order-cancelled: give the reserved units back (or block a late reserve)."""
    services.reservation_release(
        key=event_key(event.saga_id, "reserve_stock", compensate=True),
        reserve_key=event_key(event.saga_id, "reserve_stock"),
        publish=Reaction(event, "inventory.release_stock", on_applied=ev.STOCK_RELEASED),
    )
    return None


def commit_stock(event: Event) -> str | None:
    """order-approved: the reservation becomes a sale."""
    services.reservation_commit(
        key=event_key(event.saga_id, "commit_stock"),
        reserve_key=event_key(event.saga_id, "reserve_stock"),
        publish=Reaction(event, "inventory.commit_stock", on_applied=ev.STOCK_COMMITTED),
    )
    return None


def _handled(event_id: str, handler: str) -> bool:
    return selectors.event_handled(event_id, handler)


subscribe(
    Subscription(
        name="inventory.reserve_stock",
        event_types=(ev.ORDER_CREATED,),
        handle=reserve_stock,
        give_up=give_up_reserve,
        handled=_handled,
        step="reserve_stock",
    )
)
subscribe(
    Subscription(
        name="inventory.release_stock",
        event_types=(ev.PAYMENT_DECLINED, ev.ORDER_CANCELLED),
        handle=release_stock,
        kind="compensation",
        handled=_handled,
        max_attempts=5,
        step="reserve_stock",
        compensate=True,
    )
)
subscribe(
    Subscription(
        name="inventory.commit_stock",
        event_types=(ev.ORDER_APPROVED,),
        handle=commit_stock,
        kind="after-pivot",
        handled=_handled,
        max_attempts=10,
        step="commit_stock",
    )
)
