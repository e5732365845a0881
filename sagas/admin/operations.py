"""The operator actions the admin offers on a saga, and what each would do to a given saga.

Each operation names its service, its permission and how to describe its effect before it
runs. The description is a preview for the confirmation page; the service re-checks the
saga's state under its own transaction and has the last word.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from sagas import services
from sagas.choreography import start as choreography
from sagas.engine import transitions
from sagas.engine.definition import get_definition
from sagas.engine.transitions import Position
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStyle


@dataclass
class Plan:
    """What an operation would do to one saga, or why it would be refused."""

    effects: list[str] = field(default_factory=list)
    compensations: list[services.PlannedCompensation] = field(default_factory=list)
    refusal: str = ""
    # How the confirmation page names the saga and where it is (set by the page).
    title: str = ""
    where: str = ""


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    verb: str
    permission: str
    service: Callable[..., SagaInstance]
    explain: Callable[[SagaInstance], Plan]
    superuser_only: bool = False
    bulk: bool = True

    @property
    def perm(self) -> str:
        return f"sagas.{self.permission}"

    def allowed_for(self, user: Any) -> bool:
        """Whether the user holds this operation's permission (and is a superuser where needed)."""
        if self.superuser_only and not user.is_superuser:
            return False
        return user.is_active and user.has_perm(self.perm)


def _choreographed(saga: SagaInstance) -> bool:
    return saga.style == SagaStyle.CHOREOGRAPHY


def _engine_only(name: str, explain: Callable[[SagaInstance], Plan]) -> Callable[[SagaInstance], Plan]:
    """Actions that steer the engine's steps; a choreographed saga has none to steer."""

    def checked(saga: SagaInstance) -> Plan:
        return Plan(refusal=choreography.refusal_for(name)) if _choreographed(saga) else explain(saga)

    return checked


def _direction_word(saga: SagaInstance) -> str:
    return "compensation" if saga.direction == Direction.COMPENSATION else "step"


def _explain_retry(saga: SagaInstance) -> Plan:
    if saga.status != SagaStatus.FAILED:
        return Plan(refusal=f"Only a FAILED saga can be retried; this one is {saga.status}.")
    status = SagaStatus.COMPENSATING if saga.direction == Direction.COMPENSATION else SagaStatus.RUNNING
    effects = [
        f"Runs the {_direction_word(saga)} \u201c{saga.current_step}\u201d again with a fresh set of attempts.",
        f"The saga becomes {status}, gets a new deadline, and the workers pick it up.",
    ]
    if saga.resolved_at:
        effects.append("The \u201cresolved\u201d mark is cleared.")
    return Plan(effects=effects)


def _explain_compensate(saga: SagaInstance) -> Plan:
    refusal = choreography.compensate_refusal(saga) if _choreographed(saga) else services._compensate_refusal(saga)
    if refusal:
        return Plan(refusal=refusal)
    if _choreographed(saga):
        heading, stages = choreography.choreography_compensation_plan()
        return Plan(effects=[heading, *stages])
    planned = services.compensation_plan(saga)
    if not planned:
        return Plan(effects=["Nothing has been done that needs undoing: the saga becomes COMPENSATED at once."])
    return Plan(effects=["Stops the saga where it is.", str(services.COMPENSATE_PLAN_HEADING)], compensations=planned)


def _explain_resume(saga: SagaInstance) -> Plan:
    if _choreographed(saga):
        refusal = choreography.resume_refusal(saga)
        if refusal:
            return Plan(refusal=refusal)
        return Plan(
            effects=[
                "Delivers every event of the saga again to its services, including any a service gave up on.",
                "Services that already acted on an event skip the repeat (inbox and idempotency keys).",
            ]
        )
    if saga.status not in ACTIVE_STATUSES:
        return Plan(refusal=f"Only a saga still in progress can be resumed; this one is {saga.status}.")
    if saga.paused:
        return Plan(refusal="The saga is paused; unpause it instead.")
    if saga.lease_expires_at and saga.lease_expires_at > timezone.now():
        return Plan(
            refusal=f"A worker ({saga.lease_owner}) holds the saga until {saga.lease_expires_at:%H:%M:%S} UTC; "
            "it is not stuck."
        )
    return Plan(
        effects=[
            "Clears the expired lease and any retry wait, and hands the saga back to the workers.",
            f"They continue with the {_direction_word(saga)} \u201c{saga.current_step}\u201d; a repeat of an attempt "
            "that already took effect is harmless (idempotency keys).",
        ]
    )


def _explain_pause(saga: SagaInstance) -> Plan:
    if saga.status not in ACTIVE_STATUSES:
        return Plan(refusal=f"Only a saga in progress can be paused; this one is {saga.status}.")
    if saga.paused:
        return Plan(refusal="The saga is already paused.")
    return Plan(
        effects=[
            "Workers and the recovery sweep leave the saga alone until someone unpauses it.",
            "An attempt running right now is dropped at its checkpoint and runs again after the unpause.",
        ]
    )


def _explain_unpause(saga: SagaInstance) -> Plan:
    if not saga.paused:
        return Plan(refusal="The saga is not paused.")
    if saga.status in ACTIVE_STATUSES:
        return Plan(effects=[f"The workers continue with the {_direction_word(saga)} \u201c{saga.current_step}\u201d."])
    return Plan(effects=[f"Clears the pause flag; the saga is {saga.status} and stays so."])


def _explain_edit_input(saga: SagaInstance) -> Plan:
    if saga.status != SagaStatus.FAILED:
        return Plan(refusal=f"Only a FAILED saga can have its input edited; this one is {saga.status}.")
    return Plan(
        effects=[
            "Replaces the saga's input with the JSON you enter below (the order id cannot change).",
            f"Then retries the {_direction_word(saga)} \u201c{saga.current_step}\u201d with a fresh set of attempts.",
            "The audit record keeps the input before and after.",
        ]
    )


def _explain_skip_step(saga: SagaInstance) -> Plan:
    if saga.status != SagaStatus.FAILED:
        return Plan(refusal=f"Only a step that stopped a FAILED saga can be skipped; this one is {saga.status}.")
    definition = get_definition(saga.definition_name, saga.definition_version)
    new = transitions.after_success(definition, Position(saga.status, saga.direction, saga.step_index))
    if new.terminal:
        then = f"the saga ends as {new.status}."
    else:
        following = "compensation" if new.direction == Direction.COMPENSATION else "step"
        then = f"the saga goes on with the {following} \u201c{definition.step(new.step_index).name}\u201d."
    return Plan(
        effects=[
            f"Counts the {_direction_word(saga)} \u201c{saga.current_step}\u201d as done without calling its "
            "service: do this only when its effect was carried out by hand.",
            f"Then {then}",
        ]
    )


def _explain_resolve(saga: SagaInstance) -> Plan:
    if saga.status != SagaStatus.FAILED:
        return Plan(refusal=f"Only a FAILED saga can be marked resolved; this one is {saga.status}.")
    if saga.resolved_at is not None:
        return Plan(refusal=f"The saga was already marked resolved by {saga.resolved_by}.")
    return Plan(
        effects=[
            "Records that you dealt with the saga by hand; it stays FAILED and nothing is run.",
            "It leaves the \u201cneeds attention\u201d list.",
        ]
    )


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "retry",
            "Retry the failed step",
            "Retry",
            "retry_saga",
            services.saga_retry,
            _engine_only("retry", _explain_retry),
        ),
        Operation(
            "compensate",
            "Compensate now",
            "Compensate",
            "compensate_saga",
            services.saga_compensate,
            _explain_compensate,
        ),
        Operation("resume", "Resume a stuck saga", "Resume", "resume_saga", services.saga_resume, _explain_resume),
        Operation("pause", "Pause", "Pause", "pause_saga", services.saga_pause, _engine_only("pause", _explain_pause)),
        Operation("unpause", "Unpause", "Unpause", "pause_saga", services.saga_unpause, _explain_unpause),
        Operation(
            "edit_input",
            "Edit input and retry",
            "Save the input and retry",
            "edit_saga_input",
            services.saga_edit_input,
            _engine_only("edit_input", _explain_edit_input),
            superuser_only=True,
            bulk=False,
        ),
        Operation(
            "skip_step",
            "Skip the failed step",
            "Skip the step",
            "skip_saga_step",
            services.saga_skip_step,
            _engine_only("skip_step", _explain_skip_step),
        ),
        Operation("resolve", "Mark resolved", "Mark resolved", "resolve_saga", services.saga_resolve, _explain_resolve),
    )
}
