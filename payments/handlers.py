"""How the payments service reacts to events: it charges the customer, or refunds."""

from django.utils.translation import gettext_noop

from payments import events as ev
from payments import selectors, services
from sagas.participant.eventbus import Subscription, subscribe
from sagas.participant.outbox import Event, Reaction, event_key
from sagas.participant.refusals import ActionBlocked, BusinessRefusal

# Written in the saga's log in English, shown in the reader's language (PaymentsConfig.ready()).
NOT_CHARGED = gettext_noop("not charged, the payment was refunded before it ran: %(reason)s")
NOTES = (NOT_CHARGED,)


def charge_payment(event: Event) -> str | None:
    """stock-reserved: charge the order total, announcing payment-captured or payment-declined."""
    order = event.order
    try:
        services.payment_charge(
            key=event_key(event.saga_id, "charge_payment"),
            order_id=event.order_id,
            customer=order["customer"],
            amount=order["total"],
            publish=Reaction(
                event, "payments.charge_payment", on_applied=ev.PAYMENT_CAPTURED, on_refused=ev.PAYMENT_DECLINED
            ),
        )
    except ActionBlocked as blocked:
        return NOT_CHARGED % {"reason": blocked.message}
    except BusinessRefusal as refusal:
        give_up_charge(event, refusal.message)
    return None


def give_up_charge(event: Event, reason: str) -> None:
    services.payment_charge_abandon(
        key=event_key(event.saga_id, "charge_payment"),
        reason=reason,
        publish=Reaction(event, "payments.charge_payment", on_refused=ev.PAYMENT_DECLINED),
    )


def refund_payment(event: Event) -> str | None:
    """order-cancelled: give the money back (or block a late charge)."""
    services.payment_refund(
        key=event_key(event.saga_id, "charge_payment", compensate=True),
        charge_key=event_key(event.saga_id, "charge_payment"),
        publish=Reaction(event, "payments.refund_payment", on_applied=ev.PAYMENT_REFUNDED),
    )
    return None


def _handled(event_id: str, handler: str) -> bool:
    return selectors.event_handled(event_id, handler)


subscribe(
    Subscription(
        name="payments.charge_payment",
        event_types=(ev.STOCK_RESERVED,),
        handle=charge_payment,
        give_up=give_up_charge,
        handled=_handled,
        step="charge_payment",
    )
)
subscribe(
    Subscription(
        name="payments.refund_payment",
        event_types=(ev.ORDER_CANCELLED,),
        handle=refund_payment,
        kind="compensation",
        handled=_handled,
        max_attempts=5,
        step="charge_payment",
        compensate=True,
    )
)
