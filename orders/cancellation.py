"""A customer cancels an order: one action over the order's two sagas.

Before the placement saga's pivot, cancelling asks that saga to stop and compensate, through
the very rule an operator's "compensate now" obeys (sagas.services.compensate_refusal and
saga_compensate, in either style). Past the pivot but not yet confirmed, a cancel is refused
("confirming": cancel once it is confirmed). A confirmed order, within
ORDER_CANCELLATION_WINDOW_SECONDS of being placed, is cancelled by a saga of its own,
"order_cancellation" (orders/cancellation_saga.py), started under an idempotency key derived
from the order so two cancels at once start one saga. Every other case is a final refusal
with a code and a message (CancellationRefused). docs/order-cancellation.md tells the whole.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import Reservation
from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.models import Order
from orders.placement import ORDER_SAGA
from payments.models import Payment
from sagas.errors import ActionNotAllowed, SagaNotFound
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStepLog, SagaStyle
from sagas.participant.money import to_money
from sagas.services import compensate_refusal, saga_compensate, saga_start
from sagas.templatetags.localtime_named import local_time


class CancelPath(StrEnum):
    STOP_PLACEMENT = "stop_placement"  # before the pivot: the running placement saga compensates
    CANCELLATION = "cancellation"  # order confirmed: a new "order_cancellation" saga runs


class RefusalCode(StrEnum):
    """Why a cancel is refused, for machines (English, stable); the message is for the customer."""

    NOT_FOUND = "not_found"
    ALREADY_CANCELLED = "already_cancelled"
    CANCELLING = "cancelling"
    CONFIRMING = "confirming"
    WINDOW_PASSED = "window_passed"
    NOT_CANCELLABLE = "not_cancellable"


class CancellationRefused(Exception):
    """A cancel that cannot be done, final and clear: `code` for machines, `message` for the customer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CancellationRefused) and (self.code, self.message) == (other.code, other.message)

    def __hash__(self) -> int:
        return hash((self.code, self.message))


@dataclass(frozen=True)
class CancellationPlan:
    """What a cancel would do now, for the confirmation page and the API."""

    order_id: uuid.UUID
    path: CancelPath | None  # None when a cancel is refused
    refusal: CancellationRefused | None
    refund: Decimal  # money that goes back to the customer (0 if none taken)
    stock_back: list[tuple[str, int]]  # (product name, quantity) that returns to the shelf
    deadline: datetime | None  # end of the cancellation window (confirmed orders)


@dataclass(frozen=True)
class CancellationStarted:
    path: CancelPath
    saga: SagaInstance  # the saga doing the work (the placement saga or the new one)
    created: bool  # False: the same cancel was already underway (one saga)


# --- what is known about an order ---------------------------------------------------------------


@dataclass(frozen=True)
class _Order:
    """The order's row and its sagas, as read for one decision."""

    id: uuid.UUID
    order: Order | None
    placement: SagaInstance | None
    cancellations: list[SagaInstance]  # oldest first


def _refused(code: RefusalCode, message: str) -> CancellationRefused:
    return CancellationRefused(code.value, message)


def _not_found(order_id: object) -> CancellationRefused:
    return _refused(RefusalCode.NOT_FOUND, _("No order %(order)s of yours was found.") % {"order": order_id})


def _read(order_id: uuid.UUID | str, customer: str) -> _Order:
    """The order and its sagas; "not_found" unless it is the customer's."""
    try:
        parsed = uuid.UUID(str(order_id))
    except ValueError:
        raise _not_found(order_id) from None
    order = Order.objects.using("orders").filter(pk=parsed).first()
    sagas = list(
        SagaInstance.objects.using("default")
        .filter(business_key=parsed, definition_name__in=[ORDER_SAGA, CANCELLATION_SAGA])
        .order_by("created_at", "id")
    )
    placement = next((saga for saga in sagas if saga.definition_name == ORDER_SAGA), None)
    owner = order.customer if order is not None else placement.party if placement is not None else None
    if not customer or owner != customer:
        raise _not_found(parsed)
    cancellations = [saga for saga in sagas if saga.definition_name == CANCELLATION_SAGA]
    return _Order(parsed, order, placement, cancellations)


def _deadline(facts: _Order) -> datetime | None:
    if facts.order is None:
        return None
    return facts.order.created_at + timedelta(seconds=settings.ORDER_CANCELLATION_WINDOW_SECONDS)


def _cancel_requested(saga: SagaInstance) -> bool:
    """Whether someone (the customer or an operator) asked the placement saga to compensate."""
    return SagaStepLog.objects.filter(saga=saga, direction=Direction.OPERATOR, action="compensate").exists()


# --- the decision --------------------------------------------------------------------------------


def _decide(facts: _Order, now: datetime) -> CancelPath:
    """The path a cancel takes now; CancellationRefused when there is none."""
    for saga in reversed(facts.cancellations):
        if saga.status == SagaStatus.COMPLETED:
            raise _refused(RefusalCode.ALREADY_CANCELLED, _("This order is already cancelled."))
        if saga.status in ACTIVE_STATUSES or saga.status == SagaStatus.FAILED:
            raise _refused(
                RefusalCode.CANCELLING, _("This order is being cancelled; its money and stock are on their way back.")
            )
    placement = facts.placement
    if placement is None:
        raise _refused(RefusalCode.NOT_CANCELLABLE, _("This order cannot be cancelled."))
    if placement.status == SagaStatus.COMPLETED:
        return _confirmed_path(facts, now)
    if placement.status == SagaStatus.COMPENSATED:
        if _cancel_requested(placement):
            raise _refused(RefusalCode.ALREADY_CANCELLED, _("This order is already cancelled."))
        raise _refused(
            RefusalCode.NOT_CANCELLABLE,
            _("This order did not go through, so there is nothing to cancel: nothing was charged or kept for it."),
        )
    if placement.status == SagaStatus.COMPENSATING:
        raise _refused(RefusalCode.CANCELLING, _("This order is being cancelled; nothing will be kept for it."))
    confirming = _refused(
        RefusalCode.CONFIRMING,
        _("This order is being confirmed and can no longer be stopped; you can cancel it once it is confirmed."),
    )
    # An approved order is past the pivot, even before a choreographed saga's monitor has seen it.
    approved = facts.order is not None and facts.order.status == Order.Status.APPROVED
    if approved:
        raise confirming
    # In progress, or stopped for an operator: the operator's own rule says whether it may still stop.
    if compensate_refusal(placement) is None:
        return CancelPath.STOP_PLACEMENT
    if _cancel_requested(placement):
        raise _refused(RefusalCode.CANCELLING, _("This order is being cancelled; nothing will be kept for it."))
    if placement.status == SagaStatus.FAILED:
        raise _refused(
            RefusalCode.NOT_CANCELLABLE,
            _("This order is held up and our staff are looking into it; it cannot be cancelled meanwhile."),
        )
    raise confirming


def _confirmed_path(facts: _Order, now: datetime) -> CancelPath:
    order = facts.order
    if order is None or order.status != Order.Status.APPROVED:
        raise _refused(RefusalCode.NOT_CANCELLABLE, _("This order cannot be cancelled."))
    deadline = _deadline(facts)
    if deadline is not None and now > deadline:
        raise _refused(
            RefusalCode.WINDOW_PASSED,
            _("This order can no longer be cancelled: cancelling was possible until %(deadline)s.")
            % {"deadline": local_time(deadline, "short")},
        )
    return CancelPath.CANCELLATION


# --- what goes back --------------------------------------------------------------------------------


def _refund(order_id: uuid.UUID) -> Decimal:
    captured = Payment.objects.using("payments").filter(order_id=order_id, status=Payment.Status.CAPTURED)
    return to_money(captured.aggregate(total=Sum("amount"))["total"] or 0)


def _stock_back(order_id: uuid.UUID, statuses: tuple[str, ...]) -> list[tuple[str, int]]:
    held = (
        Reservation.objects.using("inventory")
        .filter(order_id=order_id, status__in=statuses)
        .order_by("pk")
        .values_list("product__name", "quantity")
    )
    return list(held)


# --- the entry points ------------------------------------------------------------------------------


def order_customer(order_id: uuid.UUID | str) -> str | None:
    """The customer whose order (or placement saga) this is, for an operator acting on their behalf."""
    try:
        parsed = uuid.UUID(str(order_id))
    except ValueError:
        return None
    owner = Order.objects.using("orders").filter(pk=parsed).values_list("customer", flat=True).first()
    if owner is None:
        placements = SagaInstance.objects.using("default").filter(business_key=parsed, definition_name=ORDER_SAGA)
        owner = placements.values_list("party", flat=True).first()
    return owner


def cancellation_plan(order_id: uuid.UUID | str, *, customer: str) -> CancellationPlan:
    """What cancelling the order would do now: its path, or the refusal, and what would go back.

    `customer` is the customer's key (their user id); another customer's order is "not_found".
    """
    try:
        facts = _read(order_id, customer)
    except CancellationRefused as refusal:
        return CancellationPlan(_parsed_or_nil(order_id), None, refusal, to_money(0), [], None)
    confirmed = facts.placement is not None and facts.placement.status == SagaStatus.COMPLETED
    deadline = _deadline(facts) if confirmed else None
    try:
        path = _decide(facts, timezone.now())
    except CancellationRefused as refusal:
        return CancellationPlan(facts.id, None, refusal, to_money(0), [], deadline)
    if path == CancelPath.CANCELLATION:
        stock = _stock_back(facts.id, (Reservation.Status.COMMITTED,))
    else:
        stock = _stock_back(facts.id, (Reservation.Status.ACTIVE, Reservation.Status.COMMITTED))
    return CancellationPlan(facts.id, path, None, _refund(facts.id), stock, deadline)


def _parsed_or_nil(order_id: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(order_id))
    except ValueError:
        return uuid.UUID(int=0)


# A saga_compensate that meets a worker's checkpoint between its read and its write is refused
# ("the saga changed"); the decision is then made again on the fresh state, a few times.
_STOP_ATTEMPTS = 5


def cancellation_request(
    order_id: uuid.UUID | str, *, customer: str, actor: str, reason: str = ""
) -> CancellationStarted:
    """Cancel the customer's order: stop its placement saga, or start its cancellation saga.

    Raises CancellationRefused (final, with a code and a message). `actor` is who asks (written
    in the audit record); `reason` is the customer's, optional.
    """
    reason = (reason or "").strip()[:300]
    for _attempt in range(_STOP_ATTEMPTS):
        facts = _read(order_id, customer)
        path = _decide(facts, timezone.now())
        if path == CancelPath.CANCELLATION:
            return _start_cancellation(facts, customer=customer, actor=actor, reason=reason)
        try:
            saga = saga_compensate(
                facts.placement.pk,
                actor=actor,
                reason=reason or _("The customer cancelled the order."),
            )
        except (ActionNotAllowed, SagaNotFound):
            continue
        return CancellationStarted(CancelPath.STOP_PLACEMENT, saga, True)
    # Still moving under us after every attempt: say what the order is doing now.
    _decide(_read(order_id, customer), timezone.now())
    raise _refused(RefusalCode.CONFIRMING, _("This order is changing as we speak; try again in a moment."))


def _idempotency_key(facts: _Order) -> str:
    """The cancellation saga's key: one per order and per attempt that an earlier one undid."""
    undone = sum(1 for saga in facts.cancellations if saga.status == SagaStatus.COMPENSATED)
    return f"order-cancellation:{facts.id}:{undone + 1}"


def _start_cancellation(facts: _Order, *, customer: str, actor: str, reason: str) -> CancellationStarted:
    saga_input = {
        "order_id": str(facts.id),
        "customer": customer,
        "actor": actor,
        "reason": reason,
    }
    saga, created = saga_start(
        CANCELLATION_SAGA,
        saga_input,
        idempotency_key=_idempotency_key(facts),
        style=SagaStyle.ORCHESTRATION,
        business_key=facts.id,
        party=customer,
    )
    return CancellationStarted(CancelPath.CANCELLATION, saga, created)
