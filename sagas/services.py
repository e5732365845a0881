"""Starting sagas and acting on them: the only entry points for commands, admin and API.

Every operator action is a guarded, version-fenced change of the saga row plus an audit
row in the step log (who, when, why), committed together with the enqueue it needs. Each
action has one rule, `<action>_refusal`, that says why it is refused for a saga: the service,
the admin's preview and buttons, the API and the commands all ask it.
"""

import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sagas.engine import transitions
from sagas.engine.definition import business_key_name, get_definition
from sagas.engine.operator import audit, fenced_update, fresh_deadline, last_error_fields
from sagas.engine.queue import enqueue_saga
from sagas.engine.styles import CompensationPlan, OperatorAction, style_named, style_of
from sagas.engine.transitions import Position
from sagas.errors import ActionNotAllowed, SagaNotFound
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStyle, status_code_name
from sagas.participant import customers


def saga_get(saga_id: uuid.UUID | str) -> SagaInstance:
    """The saga with that id; SagaNotFound for an unknown or malformed id."""
    try:
        parsed = uuid.UUID(str(saga_id))
    except ValueError:
        raise SagaNotFound(_("'%(id)s' is not a saga id (a UUID is expected).") % {"id": saga_id}) from None
    saga = SagaInstance.objects.filter(pk=parsed).first()
    if saga is None:
        raise SagaNotFound(_("No saga with id %(id)s.") % {"id": parsed})
    return saga


def saga_start(
    definition_name: str,
    saga_input: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    style: str = SagaStyle.ORCHESTRATION,
    business_key: uuid.UUID | str | None = None,
    party: str = "",
    version: int | None = None,
) -> tuple[SagaInstance, bool]:
    """Create a saga on the latest (or given) definition version, in the given style, and set it going.

    The same idempotency key gives back the saga it first started; the boolean says
    whether this call created it. ValueError for a style that does not exist. `business_key`
    is the id of the business object the saga acts on and `party` whom it belongs to: people
    find the saga by either.
    """
    return style_named(style).start(
        get_definition(definition_name, version),
        saga_input,
        idempotency_key=idempotency_key or None,
        business_key=business_key,
        party=party,
    )


# --- why an operator action is refused -------------------------------------------------------
# One function per action, None when the action may go ahead. A rule that depends on the
# style is the style's; what holds for every style is written here.


def retry_refusal(saga: SagaInstance) -> str | None:
    """Why "retry" is refused for the saga, or None."""
    return style_of(saga).refusal(OperatorAction.RETRY, saga)


def compensate_refusal(saga: SagaInstance) -> str | None:
    """Why "compensate now" is refused for the saga, or None."""
    return style_of(saga).refusal(OperatorAction.COMPENSATE, saga)


def resume_refusal(saga: SagaInstance, *, force: bool = False) -> str | None:
    """Why "resume" is refused for the saga, or None; `force` takes a saga over from a live lease."""
    return style_of(saga).refusal(OperatorAction.RESUME, saga, force=force)


def pause_refusal(saga: SagaInstance) -> str | None:
    """Why "pause" is refused for the saga, or None."""
    return style_of(saga).refusal(OperatorAction.PAUSE, saga)


def unpause_refusal(saga: SagaInstance) -> str | None:
    """Why "unpause" is refused for the saga, or None."""
    if not saga.paused:
        return _("The saga is not paused.")
    return style_of(saga).refusal(OperatorAction.UNPAUSE, saga)


def edit_input_refusal(saga: SagaInstance) -> str | None:
    """Why "edit input and retry" is refused for the saga, or None (the new input is checked by the service)."""
    return style_of(saga).refusal(OperatorAction.EDIT_INPUT, saga)


def skip_step_refusal(saga: SagaInstance) -> str | None:
    """Why "skip the failed step" is refused for the saga, or None."""
    return style_of(saga).refusal(OperatorAction.SKIP_STEP, saga)


def resolve_refusal(saga: SagaInstance) -> str | None:
    """Why "mark resolved" is refused for the saga, or None."""
    if saga.status != SagaStatus.FAILED:
        return _("Only a FAILED saga can be marked resolved; this one is %(status)s.") % {
            "status": status_code_name(saga.status)
        }
    if saga.resolved_at is not None:
        return _("The saga was already marked resolved by %(person)s.") % {"person": saga.resolved_by}
    return style_of(saga).refusal(OperatorAction.RESOLVE, saga)


REFUSALS: dict[OperatorAction, Callable[[SagaInstance], str | None]] = {
    OperatorAction.RETRY: retry_refusal,
    OperatorAction.COMPENSATE: compensate_refusal,
    OperatorAction.RESUME: resume_refusal,
    OperatorAction.PAUSE: pause_refusal,
    OperatorAction.UNPAUSE: unpause_refusal,
    OperatorAction.EDIT_INPUT: edit_input_refusal,
    OperatorAction.SKIP_STEP: skip_step_refusal,
    OperatorAction.RESOLVE: resolve_refusal,
}


def _refuse_if(refusal: str | None) -> None:
    if refusal:
        raise ActionNotAllowed(refusal)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ActionNotAllowed(_("A reason is required; it goes into the audit record."))
    return reason


# --- what an action would do -----------------------------------------------------------------


def compensations_planned(saga: SagaInstance) -> list[str]:
    """The compensations that "compensate now" would run, in the order they would run."""
    return style_of(saga).compensations_planned(saga)


def compensation_plan(saga: SagaInstance) -> CompensationPlan:
    """What "compensate now" would do to the saga, in the words the admin and compensate_saga show."""
    return style_of(saga).compensation_plan(saga)


def resume_effects(saga: SagaInstance) -> list[str]:
    """What "resume" would do to the saga, in words."""
    return style_of(saga).resume_effects(saga)


# --- operator actions ------------------------------------------------------------------------


def saga_retry(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Run again the step that stopped a FAILED saga, with a fresh set of attempts."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_if(retry_refusal(saga))
        status = SagaStatus.COMPENSATING if saga.direction == Direction.COMPENSATION else SagaStatus.RUNNING
        fenced_update(
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
        audit(saga, OperatorAction.RETRY, actor, reason, {"step": saga.current_step, "direction": saga.direction})
        enqueue_saga(saga.pk)
    return saga_get(saga.pk)


def saga_compensate(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Stop a running or FAILED saga and undo what it did, in reverse order."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_if(compensate_refusal(saga))
        return style_of(saga).compensate(saga, actor=actor, reason=reason)


def saga_resume(saga_id: uuid.UUID | str, *, actor: str, reason: str, force: bool = False) -> SagaInstance:
    """Hand a stuck saga back to the workers: its lease and backoff are cleared."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_if(resume_refusal(saga, force=force))
        return style_of(saga).resume(saga, actor=actor, reason=reason, force=force)


def saga_pause(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Keep workers and the recovery sweep away from the saga until it is unpaused."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_if(pause_refusal(saga))
        fenced_update(saga, paused=True)
        audit(saga, OperatorAction.PAUSE, actor, reason)
    return saga_get(saga.pk)


def saga_unpause(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Let workers run a paused saga again, from where it stopped."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_if(unpause_refusal(saga))
        fenced_update(saga, paused=False, lease_owner="", lease_expires_at=None, next_run_at=None)
        audit(saga, OperatorAction.UNPAUSE, actor, reason)
        if saga.status in ACTIVE_STATUSES:
            enqueue_saga(saga.pk)
    return saga_get(saga.pk)


def saga_resolve(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Record that a person has dealt with a FAILED saga by hand; it stays FAILED."""
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_if(resolve_refusal(saga))
        fenced_update(saga, resolved_at=timezone.now(), resolved_by=actor or "unknown")
        audit(saga, OperatorAction.RESOLVE, actor, reason)
    return saga_get(saga.pk)


def saga_skip_step(saga_id: uuid.UUID | str, *, actor: str, reason: str) -> SagaInstance:
    """Count the step that stopped a FAILED saga as done and move on from it.

    For a person who finished the step by hand: a forward step is followed by the next one,
    a compensation by the compensation before it. Nothing is called for the skipped step.
    """
    reason = _require_reason(reason)
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_if(skip_step_refusal(saga))
        definition = get_definition(saga.definition_name, saga.definition_version)
        skipped = definition.step(saga.step_index).name
        new = transitions.after_success(definition, Position(saga.status, saga.direction, saga.step_index))
        now = timezone.now()
        context = dict(saga.context)
        if saga.direction == Direction.FORWARD:
            note = {"skipped_by": actor or "unknown", "reason": reason}
            context["results"] = {**context.get("results", {}), skipped: note}
        fenced_update(
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
            **last_error_fields(new.status, context),
        )
        audit(
            saga,
            OperatorAction.SKIP_STEP,
            actor,
            reason,
            {"step": skipped, "direction": saga.direction, "next_status": new.status},
        )
        if not new.terminal:
            enqueue_saga(saga.pk)
    return saga_get(saga.pk)


def _key_fields_changed(saga: SagaInstance, before: dict[str, Any], new_input: dict[str, Any]) -> bool:
    """Whether an input field that holds the saga's business key would change (or go)."""
    if saga.business_key is None:
        return False
    key = str(saga.business_key)
    return any(str(value) == key and new_input.get(name) != value for name, value in before.items())


def _party_from_input(saga: SagaInstance, before: dict[str, Any], new_input: dict[str, Any]) -> str:
    """The saga's party after an edit: the new value of the input field that held it, if any."""
    for name, value in before.items():
        if saga.party and value == saga.party and name in new_input:
            return str(new_input[name])[: customers.KEY_MAX_LENGTH]
    return saga.party


def saga_edit_input(saga_id: uuid.UUID | str, *, actor: str, reason: str, new_input: dict[str, Any]) -> SagaInstance:
    """Replace a FAILED saga's input and retry the step that stopped it.

    The audit record keeps the input before and after. The business key cannot change: the
    participants already know the business object under it. An input field that held the
    saga's party gives the saga its new party.
    """
    reason = _require_reason(reason)
    if not isinstance(new_input, dict):
        raise ActionNotAllowed(_("The new input must be a JSON object."))
    with transaction.atomic(using="default"):
        saga = saga_get(saga_id)
        _refuse_if(edit_input_refusal(saga))
        before = saga.context.get("input", {})
        if _key_fields_changed(saga, before, new_input):
            # In the definition's words: "The order id cannot change", else "The business key ...".
            raise ActionNotAllowed(
                _("The %(key)s cannot change: the participants know the business object by it.")
                % {"key": business_key_name(saga.definition_name)}
            )
        if before == new_input:
            raise ActionNotAllowed(_("The new input is the same as the current one; use retry instead."))
        status = SagaStatus.COMPENSATING if saga.direction == Direction.COMPENSATION else SagaStatus.RUNNING
        fenced_update(
            saga,
            status=status,
            context={**saga.context, "input": new_input},
            party=_party_from_input(saga, before, new_input),
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
        audit(
            saga,
            OperatorAction.EDIT_INPUT,
            actor,
            reason,
            {"step": saga.current_step, "direction": saga.direction, "before": before, "after": new_input},
        )
        enqueue_saga(saga.pk)
    return saga_get(saga.pk)
