"""The choreographed order flow, as the saga monitor reads it from the events.

No one drives this flow; each service reacts to the others' events (see each app's
`handlers.py`). Reading top to bottom:

    order-requested   -> orders creates the order        -> order-created
    order-created     -> inventory reserves stock         -> stock-reserved | stock-rejected
    stock-reserved    -> payments charges                 -> payment-captured | payment-declined
    payment-captured  -> orders approves (the pivot)      -> order-approved
    order-approved    -> inventory commits the stock      -> stock-committed

and when something is refused, each service undoes its own work:

    stock-rejected, payment-declined, order-cancel-requested -> orders cancels -> order-cancelled
    payment-declined, order-cancelled -> inventory releases  -> stock-released
    order-cancelled                   -> payments refunds    -> payment-refunded

The saga's status is a function of the set of events seen, so it does not depend on the
order in which they reach the monitor.
"""

from collections.abc import Collection
from typing import Any

from django.utils.translation import gettext_noop

from orders import events as ev
from sagas.choreography.flow import ChoreographyFlow
from sagas.models import SagaStatus, StepStatus
from sagas.participant.outbox import Event, new_event

# What every event of the flow carries about the order (from the saga's input).
ORDER_FIELDS = ("customer", "sku", "quantity", "unit_price", "total")

COMPLETED_WHEN = frozenset({ev.ORDER_APPROVED, ev.STOCK_COMMITTED})
COMPENSATED_WHEN = frozenset({ev.ORDER_CANCELLED, ev.STOCK_RELEASED, ev.PAYMENT_REFUNDED})
TURNED_BACK_BY = frozenset({ev.STOCK_REJECTED, ev.PAYMENT_DECLINED, ev.ORDER_CANCEL_REQUESTED, *COMPENSATED_WHEN})
REFUSALS = frozenset({ev.STOCK_REJECTED, ev.PAYMENT_DECLINED})
REQUESTS = frozenset({ev.ORDER_REQUESTED, ev.ORDER_CANCEL_REQUESTED})

# The orchestrated step each forward event stands for; used for "compensations planned".
STEP_OF = {
    ev.ORDER_CREATED: "create_order",
    ev.STOCK_RESERVED: "reserve_stock",
    ev.PAYMENT_CAPTURED: "charge_payment",
    ev.ORDER_APPROVED: "approve_order",
    ev.STOCK_COMMITTED: "commit_stock",
}


def status_for(seen: Collection[str], failed: bool = False) -> str:
    """The saga status that a set of seen event types means."""
    if failed:
        return SagaStatus.FAILED
    if set(seen) >= COMPLETED_WHEN:
        return SagaStatus.COMPLETED
    if set(seen) >= COMPENSATED_WHEN:
        return SagaStatus.COMPENSATED
    if ev.ORDER_APPROVED in seen:
        return SagaStatus.RUNNING  # past the pivot a cancel request changes nothing
    if TURNED_BACK_BY & set(seen):
        return SagaStatus.COMPENSATING
    if set(seen) - REQUESTS:
        return SagaStatus.RUNNING
    return SagaStatus.PENDING


def step_status(event_type: str) -> str:
    """How an event shows in the step log."""
    if event_type in REFUSALS:
        return StepStatus.REFUSED
    if event_type in REQUESTS:
        return StepStatus.RECORDED
    return StepStatus.SUCCEEDED


def compensations_planned() -> list[str]:
    """What a cancel makes the services undo, named like the orchestrated steps.

    Each service undoes its own work when it hears of the cancel, at the same time as the
    others; one that had done nothing records an empty compensation that blocks a late action.
    """
    return ["charge_payment", "reserve_stock", "create_order"]


def order_event(
    event_type: str, saga_id: str, saga_input: dict[str, Any], sequence: int, data: dict[str, Any] | None
) -> Event:
    """A request the monitor publishes about the order (placing it or cancelling it)."""
    return new_event(
        event_type,
        source="sagas",
        saga_id=saga_id,
        order_id=str(saga_input["order_id"]),
        sequence=sequence,
        order={name: saga_input.get(name) for name in ORDER_FIELDS},
        data=data,
    )


ORDER_FLOW = ChoreographyFlow(
    definition_name="order",
    request_event=ev.ORDER_REQUESTED,
    cancel_request_event=ev.ORDER_CANCEL_REQUESTED,
    pivot_event=ev.ORDER_APPROVED,
    # Translated where it is shown (sagas/choreography/start.py), from this app's catalogue.
    past_pivot=gettext_noop(
        "The order is approved (the pivot); what is done there is final and cannot be compensated."
    ),
    # Orders cancels the order on the request; inventory and payments undo their parts once they hear it.
    cancel_chain=(ev.ORDER_CANCEL_REQUESTED, ev.ORDER_CANCELLED),
    refusals=REFUSALS,
    status_for=status_for,
    step_status=step_status,
    compensations_planned=compensations_planned,
    build_event=order_event,
)
