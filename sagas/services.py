"""Starting sagas and acting on them: the only entry points for commands, admin and API.

Every operator action is a guarded, version-fenced change of the saga row plus an audit
row in the step log (who, when, why), committed together with the enqueue it needs.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from inventory import selectors as inventory_selectors
from payments import selectors as payment_selectors
from sagas.engine import runner, transitions
from sagas.engine.definition import SagaDefinition, get_definition
from sagas.engine.queue import enqueue_saga
from sagas.engine.transitions import Position
from sagas.errors import ActionNotAllowed, InvalidOrderRequest, SagaNotFound
from sagas.models import (
    ACTIVE_STATUSES,
    Direction,
    SagaInstance,
    SagaStatus,
    SagaStepLog,
    SagaStyle,
    StepStatus,
)
from sagas.participant import customers
from sagas.participant.money import to_money
from sagas.participant.parsing import InvalidNumber, NumberProblem, parse_whole_number

MAX_ORDER_QUANTITY = 1000


def saga_get(saga_id: uuid.UUID | str) -> SagaInstance:
    """The saga with that id; SagaNotFound for an unknown or malformed id."""
    try:
        parsed = uuid.UUID(str(saga_id))
    except ValueError:
        raise SagaNotFound(f"{saga_id!r} is not a saga id (a UUID is expected).") from None
    saga = SagaInstance.objects.filter(pk=parsed).first()
    if saga is None:
        raise SagaNotFound(f"No saga with id {parsed}.")
    return saga


def fresh_deadline(definition: SagaDefinition, now: datetime | None = None) -> datetime:
    """When a saga started, or set going again by an operator, must be done: its definition says, else the setting."""
    seconds = definition.deadline_seconds or settings.SAGA_DEADLINE_SECONDS
    return (now or timezone.now()) + timedelta(seconds=seconds)


def saga_start(
    definition_name: str,
    saga_input: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    style: str = SagaStyle.ORCHESTRATION,
    order_id: uuid.UUID | str | None = None,
    customer: str = "",
    version: int | None = None,
) -> tuple[SagaInstance, bool]:
    """Create a saga on the latest (or given) definition version and queue its first run.

    The same idempotency key gives back the saga it first started; the boolean says
    whether this call created it.
    """
    definition = get_definition(definition_name, version)
    if idempotency_key:
        existing = SagaInstance.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    now = timezone.now()
    try:
        with transaction.atomic(using="default"):
            saga = SagaInstance.objects.create(
                definition_name=definition.name,
                definition_version=definition.version,
                style=style,
                context={"input": saga_input, "results": {}},
                idempotency_key=idempotency_key or None,
                order_id=order_id,
                customer=customer,
                current_step=definition.steps[0].name,
                deadline_at=fresh_deadline(definition, now),
            )
            enqueue_saga(saga.pk)
    except IntegrityError:
        existing = SagaInstance.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return saga, True


def _parse_quantity(quantity: Any) -> int:
    try:
        return parse_whole_number(quantity, minimum=1, maximum=MAX_ORDER_QUANTITY)
    except InvalidNumber as error:
        if error.problem == NumberProblem.TOO_LARGE:
            message = _("At most %(maximum)d units per order.") % {"maximum": MAX_ORDER_QUANTITY}
        else:
            message = _("Quantity must be a positive whole number in the digits 0-9, not %(value)r.") % {
                "value": quantity
            }
        raise InvalidOrderRequest("quantity", message) from None


def order_place(
    *,
    customer: str,
    sku: str,
    quantity: Any,
    style: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[SagaInstance, bool]:
    """Validate an order request and start the saga that places it.

    `customer` is the customer's key (their user id: adapters turn a user or a username into it
    with sagas.participant.customers). Raises InvalidOrderRequest naming the bad field: unknown
    customer, unknown or inactive product, or a quantity that is not a positive whole number
    within the limit.
    """
    amount = _parse_quantity(quantity)
    style = style or settings.SAGA_DEFAULT_STYLE
    if style not in SagaStyle.values:
        raise InvalidOrderRequest("style", f"Style must be one of: {', '.join(SagaStyle.values)}.")
    if payment_selectors.account_get(customer) is None:
        raise InvalidOrderRequest("customer", f"Unknown customer {customers.customer_name(customer)!r}.")
    product = inventory_selectors.product_get(sku)
    if product is None:
        raise InvalidOrderRequest("sku", f"Unknown product {sku!r}.")
    if not product.active:
        raise InvalidOrderRequest("sku", f"{sku} is not for sale.")
    unit_price: Decimal = to_money(product.unit_price)
    order_id = uuid.uuid4()
    saga_input = {
        "order_id": str(order_id),
        "customer": customer,
        "sku": sku,
        "quantity": amount,
        "unit_price": str(unit_price),
        "total": str(unit_price * amount),
    }
    if style == SagaStyle.CHOREOGRAPHY:
        from sagas.choreography.start import choreography_start

        return choreography_start(saga_input, idempotency_key=idempotency_key)
    return saga_start(
        "order",
        saga_input,
        idempotency_key=idempotency_key,
        style=style,
        order_id=order_id,
        customer=customer,
    )


# --- operator actions ------------------------------------------------------------------------


def _audit(saga: SagaInstance, action: str, actor: str, reason: str, details: dict[str, Any] | None = None) -> None:
    now = timezone.now()
    SagaStepLog.objects.create(
        saga=saga,
        step_name=saga.current_step,
        step_index=saga.step_index,
        direction=Direction.OPERATOR,
        attempt=saga.attempt,
        status=StepStatus.RECORDED,
        started_at=now,
        finished_at=now,
        action=action,
        actor=actor or "unknown",
        reason=reason,
        result=details or {},
    )


def _fenced_update(saga: SagaInstance, **fields: Any) -> None:
    moved = SagaInstance.objects.filter(pk=saga.pk, version=saga.version).update(
        version=F("version") + 1, updated_at=timezone.now(), **fields
    )
    if not moved:
        raise ActionNotAllowed("The saga changed while you were acting on it; look again and retry.")


def _last_error_fields(status: str, context: dict[str, Any]) -> dict[str, str]:
    """The last_error update for an operator's move to `status`, which meets no error itself."""
    last_error = transitions.last_error_after(status, "", context)
    return {} if last_error is None else {"last_error": last_error}


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ActionNotAllowed("A reason is required; it goes into the audit record.")
    return reason


def _refuse_choreography(saga: SagaInstance, action: str) -> None:
    """Actions that steer a step of the engine mean nothing to a choreographed saga."""
    if saga.style == SagaStyle.CHOREOGRAPHY:
        from sagas.choreography.start import refusal_for

        raise ActionNotAllowed(refusal_for(action))


def compensations_planned(saga: SagaInstance) -> list[str]:
    """The compensations that "compensate now" would run, in the order they would run."""
    if saga.style == SagaStyle.CHOREOGRAPHY:
        from sagas.choreography.start import choreography_compensations_planned

        return choreography_compensations_planned(saga)
    definition = get_definition(saga.definition_name, saga.definition_version)
    position = Position(saga.status, saga.direction, saga.step_index, saga.attempt)
    start = transitions.compensation_start_for(definition, position)
    return [
        definition.step(index).name
        for index in range(start.step_index, -1, -1)
        if definition.step(index).compensation is not None
    ]


# The one text that says what "compensate now" promises: the admin's confirmation page and
# compensate_saga both show it, above the list of compensation_plan.
COMPENSATE_PLAN_HEADING = gettext_lazy(
    "These compensations will run, in this order. Each is retried up to the attempts its policy allows; "
    "if one still fails, the saga stops as FAILED for an operator to retry or compensate again:"
)


@dataclass(frozen=True)
class PlannedCompensation:
    """One compensation that "compensate now" would run, and how often it may be tried."""

    step: str  # the forward step it undoes
    compensation: str
    max_attempts: int

    def _text(self) -> str:
        return ngettext(
            "%(compensation)s (undoes %(step)s), up to %(attempts)d attempt",
            "%(compensation)s (undoes %(step)s), up to %(attempts)d attempts",
            self.max_attempts,
        )

    def __str__(self) -> str:
        return self._text() % {"compensation": self.compensation, "step": self.step, "attempts": self.max_attempts}

    def as_html(self) -> SafeString:
        """The same words, with the step it undoes in bold."""
        parts = {
            "compensation": escape(self.compensation),
            "step": format_html("<strong>{}</strong>", self.step),
            "attempts": self.max_attempts,
        }
        return mark_safe(escape(self._text()) % parts)  # every part is escaped above


def compensation_plan(saga: SagaInstance) -> list[PlannedCompensation]:
    """The compensations of an orchestrated saga that "compensate now" would run, in order, with their attempts."""
    definition = get_definition(saga.definition_name, saga.definition_version)
    steps = {step.name: step for step in definition.steps}
    return [
        PlannedCompensation(
            step=name,
            compensation=getattr(steps[name].compensation, "__name__", name),
            max_attempts=steps[name].compensation_retry.max_attempts,
        )
        for name in compensations_planned(saga)
    ]


def _compensate_refusal(saga: SagaInstance) -> str | None:
    if saga.style == SagaStyle.CHOREOGRAPHY:
        return None
    if saga.status not in (*ACTIVE_STATUSES, SagaStatus.FAILED):
        return f"A {saga.status} saga cannot be compensated."
    if saga.status == SagaStatus.COMPENSATING:
        return "The saga is already compensating."
    definition = get_definition(saga.definition_name, saga.definition_version)
    if saga.direction == Direction.FORWARD and saga.step_index > definition.pivot_index:
        return (
            f"The saga is past its pivot step ({definition.step(definition.pivot_index).name}); "
            "what is done there is final and cannot be compensated. Retry it instead."
        )
    position = Position(saga.status, saga.direction, saga.step_index, saga.attempt)
    if transitions.pivot_outcome_unknown(definition, position):
        # Undoing the steps before a pivot that went through would refund an approved order.
        return (
            f"The pivot step ({definition.step(definition.pivot_index).name}) was tried and may have taken "
            "effect, and it cannot be undone. Retry it to learn its outcome."
        )
    return None


def saga_retry(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Run again the step that stopped a FAILED saga, with a fresh set of attempts."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_choreography(saga, "retry")
        if saga.status != SagaStatus.FAILED:
            raise ActionNotAllowed(f"Only a FAILED saga can be retried; this one is {saga.status}.")
        status = SagaStatus.COMPENSATING if saga.direction == Direction.COMPENSATION else SagaStatus.RUNNING
        _fenced_update(
            saga,
            status=status,
            attempt=0,
            finished_at=None,
            resolved_at=None,
            resolved_by="",
            paused=False,
            lease_owner="",
            lease_expires_at=None,
            next_run_at=None,
            deadline_at=fresh_deadline(get_definition(saga.definition_name, saga.definition_version)),
        )
        _audit(saga, "retry", actor, reason, {"step": saga.current_step, "direction": saga.direction})
        enqueue_saga(saga.pk)
    return saga_get(saga.pk)


def saga_compensate(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Stop a running or FAILED saga and undo what it did, in reverse order."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        refusal = _compensate_refusal(saga)
        if refusal:
            raise ActionNotAllowed(refusal)
        if saga.style == SagaStyle.CHOREOGRAPHY:
            from sagas.choreography.start import choreography_compensate

            return choreography_compensate(saga, actor=actor, reason=reason)
        planned = compensations_planned(saga)
        definition = get_definition(saga.definition_name, saga.definition_version)
        start = transitions.compensation_start_for(
            definition, Position(saga.status, saga.direction, saga.step_index, saga.attempt)
        )
        now = timezone.now()
        said = f"Compensated by {actor}: {reason}"
        context = transitions.with_compensation_cause({**saga.context, "compensation_reason": said}, said)
        _fenced_update(
            saga,
            status=start.status,
            direction=start.direction,
            step_index=start.step_index,
            current_step=definition.step(start.step_index).name if start.step_index >= 0 else "",
            attempt=0,
            paused=False,
            lease_owner="",
            lease_expires_at=None,
            next_run_at=None,
            finished_at=now if start.terminal else None,
            context=context,
            **_last_error_fields(start.status, context),
        )
        runner.cut_short_attempts(saga.pk, actor=actor, action="compensate", reason=reason, now=now)
        _audit(saga, "compensate", actor, reason, {"compensations": planned})
        if not start.terminal:
            enqueue_saga(saga.pk)
    return saga_get(saga.pk)


def saga_resume(saga_id: uuid.UUID | str, *, actor: str, reason: str, force: bool = False) -> SagaInstance:
    """Hand a stuck saga back to the workers: its lease and backoff are cleared."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        if saga.style == SagaStyle.CHOREOGRAPHY:
            # Resuming re-delivers the saga's events, which also revives a FAILED one.
            from sagas.choreography.start import choreography_resume

            return choreography_resume(saga, actor=actor, reason=reason)
        if saga.status not in ACTIVE_STATUSES:
            raise ActionNotAllowed(f"Only a saga still in progress can be resumed; this one is {saga.status}.")
        if saga.paused:
            raise ActionNotAllowed("The saga is paused; unpause it instead.")
        now = timezone.now()
        if saga.lease_expires_at and saga.lease_expires_at > now and not force:
            raise ActionNotAllowed(
                f"A worker ({saga.lease_owner}) holds the saga until {saga.lease_expires_at:%H:%M:%S} UTC; "
                "it is not stuck. Use force to take it over anyway."
            )
        _fenced_update(saga, lease_owner="", lease_expires_at=None, next_run_at=None)
        if saga.lease_expires_at and saga.lease_expires_at > now:  # forced: a worker still held it
            runner.cut_short_attempts(saga.pk, actor=actor, action="forced resume", reason=reason, now=now)
        _audit(saga, "resume", actor, reason)
        enqueue_saga(saga.pk)
    return saga_get(saga.pk)


def saga_pause(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Keep workers and the recovery sweep away from the saga until it is unpaused."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_choreography(saga, "pause")
        if saga.status not in ACTIVE_STATUSES:
            raise ActionNotAllowed(f"Only a saga in progress can be paused; this one is {saga.status}.")
        if saga.paused:
            raise ActionNotAllowed("The saga is already paused.")
        _fenced_update(saga, paused=True)
        _audit(saga, "pause", actor, reason)
    return saga_get(saga.pk)


def saga_unpause(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Let workers run a paused saga again, from where it stopped."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        if not saga.paused:
            raise ActionNotAllowed("The saga is not paused.")
        _fenced_update(saga, paused=False, lease_owner="", lease_expires_at=None, next_run_at=None)
        _audit(saga, "unpause", actor, reason)
        if saga.status in ACTIVE_STATUSES:
            enqueue_saga(saga.pk)
    return saga_get(saga.pk)


def saga_resolve(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Record that a person has dealt with a FAILED saga by hand; it stays FAILED."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        if saga.status != SagaStatus.FAILED:
            raise ActionNotAllowed(f"Only a FAILED saga can be marked resolved; this one is {saga.status}.")
        if saga.resolved_at is not None:
            raise ActionNotAllowed(f"The saga was already marked resolved by {saga.resolved_by}.")
        _fenced_update(saga, resolved_at=timezone.now(), resolved_by=actor or "unknown")
        _audit(saga, "resolve", actor, reason)
    return saga_get(saga.pk)


def saga_skip_step(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Count the step that stopped a FAILED saga as done and move on from it.

    For a person who finished the step by hand: a forward step is followed by the next one,
    a compensation by the compensation before it. Nothing is called for the skipped step.
    """
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_choreography(saga, "skip_step")
        if saga.status != SagaStatus.FAILED:
            raise ActionNotAllowed(f"Only a step that stopped a FAILED saga can be skipped; this one is {saga.status}.")
        definition = get_definition(saga.definition_name, saga.definition_version)
        if not 0 <= saga.step_index < len(definition.steps):
            raise ActionNotAllowed("The saga did not stop at a step; there is nothing to skip.")
        skipped = definition.step(saga.step_index).name
        new = transitions.after_success(definition, Position(saga.status, saga.direction, saga.step_index))
        now = timezone.now()
        context = dict(saga.context)
        if saga.direction == Direction.FORWARD:
            note = {"skipped_by": actor or "unknown", "reason": reason}
            context["results"] = {**context.get("results", {}), skipped: note}
        _fenced_update(
            saga,
            status=new.status,
            direction=new.direction,
            step_index=new.step_index,
            current_step=definition.step(new.step_index).name if 0 <= new.step_index < len(definition.steps) else "",
            attempt=0,
            context=context,
            paused=False,
            lease_owner="",
            lease_expires_at=None,
            next_run_at=None,
            resolved_at=None,
            resolved_by="",
            finished_at=now if new.terminal else None,
            deadline_at=None if new.terminal else fresh_deadline(definition, now),
            **_last_error_fields(new.status, context),
        )
        _audit(
            saga,
            "skip_step",
            actor,
            reason,
            {"step": skipped, "direction": saga.direction, "next_status": new.status},
        )
        if not new.terminal:
            enqueue_saga(saga.pk)
    return saga_get(saga.pk)


def saga_edit_input(saga_id: uuid.UUID | str, *, actor: str, reason: str, new_input: dict[str, Any]) -> SagaInstance:
    """Replace a FAILED saga's input and retry the step that stopped it.

    The audit record keeps the input before and after. The order id cannot change: the
    participants already know the order under it.
    """
    reason = _require_reason(reason)
    if not isinstance(new_input, dict):
        raise ActionNotAllowed("The new input must be a JSON object.")
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_choreography(saga, "edit_input")
        if saga.status != SagaStatus.FAILED:
            raise ActionNotAllowed(f"Only a FAILED saga can have its input edited; this one is {saga.status}.")
        before = saga.context.get("input", {})
        if before.get("order_id") != new_input.get("order_id"):
            raise ActionNotAllowed("The order id cannot change: the participants know the order by it.")
        if before == new_input:
            raise ActionNotAllowed("The new input is the same as the current one; use retry instead.")
        status = SagaStatus.COMPENSATING if saga.direction == Direction.COMPENSATION else SagaStatus.RUNNING
        _fenced_update(
            saga,
            status=status,
            context={**saga.context, "input": new_input},
            customer=str(new_input.get("customer", saga.customer))[: customers.KEY_MAX_LENGTH],
            attempt=0,
            finished_at=None,
            resolved_at=None,
            resolved_by="",
            paused=False,
            lease_owner="",
            lease_expires_at=None,
            next_run_at=None,
            deadline_at=fresh_deadline(get_definition(saga.definition_name, saga.definition_version)),
        )
        _audit(
            saga,
            "edit_input",
            actor,
            reason,
            {"step": saga.current_step, "direction": saga.direction, "before": before, "after": new_input},
        )
        enqueue_saga(saga.pk)
    return saga_get(saga.pk)
