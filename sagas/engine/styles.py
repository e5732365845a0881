"""The two styles a saga runs in, each one object behind the same small interface.

Orchestration: the engine's workers run the definition's steps one after the other.
Choreography: the services react to each other's events and the monitor only watches.
The services, the admin, the API and the commands look a saga's style up with `style_of`
and call it; none of them asks which style it holds.
"""

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from django.db import IntegrityError
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from sagas.engine import notes, store, transitions
from sagas.engine.definition import SagaDefinition, get_definition
from sagas.engine.operator import audit, fenced_update, fresh_deadline, last_error_fields
from sagas.engine.queue import enqueue_saga
from sagas.engine.transitions import Position
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStyle, status_code_name


class OperatorAction(StrEnum):
    """What an operator can do to a saga; the value is the name written in its audit row."""

    RETRY = "retry"
    COMPENSATE = "compensate"
    RESUME = "resume"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    EDIT_INPUT = "edit_input"
    SKIP_STEP = "skip_step"
    RESOLVE = "resolve"


# The one text that says what "compensate now" promises for an orchestrated saga: the admin's
# confirmation page and compensate_saga both show it, above the list of its compensations.
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


@dataclass(frozen=True)
class CompensationPlan:
    """What "compensate now" would do, in words: a heading, then numbered compensations or unnumbered stages."""

    heading: str
    compensations: list[PlannedCompensation] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing has been done that needs undoing."""
        return not self.compensations and not self.stages


class Style(Protocol):
    """What each style does for the engine's services: start, compensate, resume, and say what it refuses."""

    name: SagaStyle
    # True when the engine's workers run the steps one at a time: each attempt is logged as it
    # starts and the saga's direction and current step say where it is. False when services run
    # them on events: the log records only what they finished, and any step may be in flight.
    runs_steps: bool

    def start(
        self,
        definition: SagaDefinition,
        saga_input: dict[str, Any],
        *,
        idempotency_key: str | None,
        business_key: uuid.UUID | str | None,
        party: str,
    ) -> tuple[SagaInstance, bool]:
        """Create the saga and set it going; the boolean says whether this call created it."""
        ...

    def compensate(self, saga: SagaInstance, *, actor: str, reason: str) -> SagaInstance:
        """Stop the saga and undo what it did; call inside a transaction on `default`, after `refusal`."""
        ...

    def resume(self, saga: SagaInstance, *, actor: str, reason: str, force: bool) -> SagaInstance:
        """Set a stuck saga moving again; call inside a transaction on `default`, after `refusal`."""
        ...

    def compensations_planned(self, saga: SagaInstance) -> list[str]:
        """The steps "compensate now" would undo, in the order they would be undone."""
        ...

    def compensation_plan(self, saga: SagaInstance) -> CompensationPlan:
        """What "compensate now" would do, in the words the admin and compensate_saga show."""
        ...

    def resume_effects(self, saga: SagaInstance) -> list[str]:
        """What "resume" would do, in words."""
        ...

    def refusal(self, action: OperatorAction, saga: SagaInstance, *, force: bool = False) -> str | None:
        """Why this style refuses the action for the saga, or None; rules of every style are the services'."""
        ...


def _direction_word(saga: SagaInstance) -> str:
    return _("compensation") if saga.direction == Direction.COMPENSATION else _("step")


class Orchestration:
    """The engine's workers run the steps; an operator steers them step by step."""

    name = SagaStyle.ORCHESTRATION
    runs_steps = True

    def start(
        self,
        definition: SagaDefinition,
        saga_input: dict[str, Any],
        *,
        idempotency_key: str | None,
        business_key: uuid.UUID | str | None,
        party: str,
    ) -> tuple[SagaInstance, bool]:
        if idempotency_key:
            existing = SagaInstance.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing, False
        now = timezone.now()
        try:
            saga = store.create_saga(
                SagaInstance(
                    definition_name=definition.name,
                    definition_version=definition.version,
                    style=self.name,
                    context={"input": saga_input, "results": {}},
                    idempotency_key=idempotency_key or None,
                    business_key=business_key,
                    party=party,
                    current_step=definition.steps[0].name,
                    deadline_at=fresh_deadline(definition, now),
                )
            )
        except IntegrityError:
            existing = SagaInstance.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
            return existing, False
        return saga, True

    def compensate(self, saga: SagaInstance, *, actor: str, reason: str) -> SagaInstance:
        planned = self.compensations_planned(saga)
        definition = get_definition(saga.definition_name, saga.definition_version)
        start = transitions.compensation_start_for(
            definition, Position(saga.status, saga.direction, saga.step_index, saga.attempt)
        )
        now = timezone.now()
        said = notes.COMPENSATED_BY % {"actor": actor, "reason": reason}
        context = transitions.with_compensation_cause({**saga.context, "compensation_reason": said}, said)
        fenced_update(
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
            **last_error_fields(start.status, context),
        )
        store.cut_short_attempts(saga.pk, actor=actor, action="compensate", reason=reason, now=now)
        audit(saga, OperatorAction.COMPENSATE, actor, reason, {"compensations": planned})
        if not start.terminal:
            enqueue_saga(saga.pk)
        return SagaInstance.objects.get(pk=saga.pk)

    def resume(self, saga: SagaInstance, *, actor: str, reason: str, force: bool) -> SagaInstance:
        now = timezone.now()
        fenced_update(saga, lease_owner="", lease_expires_at=None, next_run_at=None)
        if saga.lease_expires_at and saga.lease_expires_at > now:  # forced: a worker still held it
            store.cut_short_attempts(saga.pk, actor=actor, action="forced resume", reason=reason, now=now)
        audit(saga, OperatorAction.RESUME, actor, reason)
        enqueue_saga(saga.pk)
        return SagaInstance.objects.get(pk=saga.pk)

    def compensations_planned(self, saga: SagaInstance) -> list[str]:
        definition = get_definition(saga.definition_name, saga.definition_version)
        position = Position(saga.status, saga.direction, saga.step_index, saga.attempt)
        start = transitions.compensation_start_for(definition, position)
        return [
            definition.step(index).name
            for index in range(start.step_index, -1, -1)
            if definition.step(index).compensation is not None
        ]

    def compensation_plan(self, saga: SagaInstance) -> CompensationPlan:
        definition = get_definition(saga.definition_name, saga.definition_version)
        steps = {step.name: step for step in definition.steps}
        return CompensationPlan(
            heading=str(COMPENSATE_PLAN_HEADING),
            compensations=[
                PlannedCompensation(
                    step=name,
                    compensation=getattr(steps[name].compensation, "__name__", name),
                    max_attempts=steps[name].compensation_retry.max_attempts,
                )
                for name in self.compensations_planned(saga)
            ],
        )

    def resume_effects(self, saga: SagaInstance) -> list[str]:
        return [
            _("Clears the expired lease and any retry wait, and hands the saga back to the workers."),
            _(
                "They continue with the %(what)s “%(step)s”; a repeat of an attempt "
                "that already took effect is harmless (idempotency keys)."
            )
            % {"what": _direction_word(saga), "step": saga.current_step},
        ]

    def refusal(self, action: OperatorAction, saga: SagaInstance, *, force: bool = False) -> str | None:
        rule = _ORCHESTRATION_RULES.get(action)
        return rule(saga, force) if rule else None


def _failed_only(saga: SagaInstance, _force: bool, *, message: str) -> str | None:
    return None if saga.status == SagaStatus.FAILED else message % {"status": status_code_name(saga.status)}


def _orchestrated_retry(saga: SagaInstance, force: bool) -> str | None:
    return _failed_only(saga, force, message=_("Only a FAILED saga can be retried; this one is %(status)s."))


def _orchestrated_edit_input(saga: SagaInstance, force: bool) -> str | None:
    return _failed_only(saga, force, message=_("Only a FAILED saga can have its input edited; this one is %(status)s."))


def _orchestrated_skip_step(saga: SagaInstance, force: bool) -> str | None:
    refusal = _failed_only(
        saga, force, message=_("Only a step that stopped a FAILED saga can be skipped; this one is %(status)s.")
    )
    if refusal:
        return refusal
    definition = get_definition(saga.definition_name, saga.definition_version)
    if not 0 <= saga.step_index < len(definition.steps):
        return _("The saga did not stop at a step; there is nothing to skip.")
    return None


def _orchestrated_compensate(saga: SagaInstance, _force: bool) -> str | None:
    if saga.status not in (*ACTIVE_STATUSES, SagaStatus.FAILED):
        return _("A %(status)s saga cannot be compensated.") % {"status": status_code_name(saga.status)}
    if saga.status == SagaStatus.COMPENSATING:
        return _("The saga is already compensating.")
    definition = get_definition(saga.definition_name, saga.definition_version)
    pivot = definition.step(definition.pivot_index).name
    if saga.direction == Direction.FORWARD and saga.step_index > definition.pivot_index:
        return _(
            "The saga is past its pivot step (%(pivot)s); what is done there is final and cannot be compensated. "
            "Retry it instead."
        ) % {"pivot": pivot}
    position = Position(saga.status, saga.direction, saga.step_index, saga.attempt)
    if transitions.pivot_outcome_unknown(definition, position):
        # Undoing the steps before a pivot that went through would refund an approved order.
        return _(
            "The pivot step (%(pivot)s) was tried and may have taken effect, and it cannot be undone. "
            "Retry it to learn its outcome."
        ) % {"pivot": pivot}
    return None


def _orchestrated_resume(saga: SagaInstance, force: bool) -> str | None:
    if saga.status not in ACTIVE_STATUSES:
        return _("Only a saga still in progress can be resumed; this one is %(status)s.") % {
            "status": status_code_name(saga.status)
        }
    if saga.paused:
        return _("The saga is paused; unpause it instead.")
    if saga.lease_expires_at and saga.lease_expires_at > timezone.now() and not force:
        return _(
            "A worker (%(owner)s) holds the saga until %(until)s UTC; it is not stuck. "
            "Use force to take it over anyway."
        ) % {"owner": saga.lease_owner, "until": f"{saga.lease_expires_at:%H:%M:%S}"}
    return None


def _orchestrated_pause(saga: SagaInstance, _force: bool) -> str | None:
    if saga.status not in ACTIVE_STATUSES:
        return _("Only a saga in progress can be paused; this one is %(status)s.") % {
            "status": status_code_name(saga.status)
        }
    if saga.paused:
        return _("The saga is already paused.")
    return None


_ORCHESTRATION_RULES = {
    OperatorAction.RETRY: _orchestrated_retry,
    OperatorAction.COMPENSATE: _orchestrated_compensate,
    OperatorAction.RESUME: _orchestrated_resume,
    OperatorAction.PAUSE: _orchestrated_pause,
    OperatorAction.EDIT_INPUT: _orchestrated_edit_input,
    OperatorAction.SKIP_STEP: _orchestrated_skip_step,
}


def _choreography() -> Any:
    # Imported on use: sagas.choreography.start reads fresh deadlines through sagas.services,
    # which looks styles up here.
    from sagas.choreography import start

    return start


class Choreography:
    """The services react to each other's events; the monitor records them and an operator can only resend or cancel."""

    name = SagaStyle.CHOREOGRAPHY
    runs_steps = False

    # The actions that steer a step of the engine, which a choreographed saga does not have.
    _ENGINE_ONLY = (OperatorAction.RETRY, OperatorAction.PAUSE, OperatorAction.EDIT_INPUT, OperatorAction.SKIP_STEP)

    def start(
        self,
        definition: SagaDefinition,
        saga_input: dict[str, Any],
        *,
        idempotency_key: str | None,
        business_key: uuid.UUID | str | None,
        party: str,
    ) -> tuple[SagaInstance, bool]:
        return _choreography().choreography_start(
            saga_input,
            idempotency_key=idempotency_key,
            definition_name=definition.name,
            business_key=business_key,
            party=party,
        )

    def compensate(self, saga: SagaInstance, *, actor: str, reason: str) -> SagaInstance:
        return _choreography().choreography_compensate(saga, actor=actor, reason=reason)

    def resume(self, saga: SagaInstance, *, actor: str, reason: str, force: bool) -> SagaInstance:
        # Resuming re-delivers the saga's events, which also revives a FAILED one.
        return _choreography().choreography_resume(saga, actor=actor, reason=reason)

    def compensations_planned(self, saga: SagaInstance) -> list[str]:
        return _choreography().choreography_compensations_planned(saga)

    def compensation_plan(self, saga: SagaInstance) -> CompensationPlan:
        heading, stages = _choreography().choreography_compensation_plan(saga)
        return CompensationPlan(heading=heading, stages=stages)

    def resume_effects(self, saga: SagaInstance) -> list[str]:
        return [
            _("Delivers every event of the saga again to its services, including any a service gave up on."),
            _("Services that already acted on an event skip the repeat (inbox and idempotency keys)."),
        ]

    def refusal(self, action: OperatorAction, saga: SagaInstance, *, force: bool = False) -> str | None:
        if action in self._ENGINE_ONLY:
            return _choreography().refusal_for(action)
        if action == OperatorAction.COMPENSATE:
            return _choreography().compensate_refusal(saga)
        if action == OperatorAction.RESUME:
            return _choreography().resume_refusal(saga)
        return None


STYLES: dict[str, Style] = {style.name: style for style in (Orchestration(), Choreography())}


def style_named(name: str) -> Style:
    """The style object of that name; ValueError for a name no style has."""
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(_("Style must be one of: %(styles)s.") % {"styles": ", ".join(STYLES)}) from None


def style_of(saga: SagaInstance) -> Style:
    """The object that acts on the saga in its style."""
    return style_named(saga.style)
