"""The operator actions the admin offers on a saga, and what each would do to a given saga.

Each operation names its service, its permission and how to describe its effect before it
runs. The description is a preview for the confirmation page and the saga page's buttons;
why an action is refused is the service's own rule (sagas.services.REFUSALS), which the
service checks again under its own transaction, so the preview and the service agree.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas import services
from sagas.engine import transitions
from sagas.engine.definition import business_key_name, get_definition
from sagas.engine.styles import OperatorAction, PlannedCompensation
from sagas.engine.transitions import Position
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, status_code_name


@dataclass
class Plan:
    """What an operation would do to one saga, or why it would be refused."""

    effects: list[str] = field(default_factory=list)
    compensations: list[PlannedCompensation] = field(default_factory=list)
    refusal: str = ""
    # How the confirmation page names the saga and where it is (set by the page).
    title: str = ""
    where: str = ""


@dataclass(frozen=True)
class Operation:
    name: OperatorAction
    label: str
    verb: str
    permission: str
    service: Callable[..., SagaInstance]
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

    def explain(self, saga: SagaInstance) -> Plan:
        """What this operation would do to the saga, or why it is refused."""
        return plan_for(self.name, saga)


def _direction_word(saga: SagaInstance) -> str:
    return _("compensation") if saga.direction == Direction.COMPENSATION else _("step")


def _explain_retry(saga: SagaInstance) -> Plan:
    status = SagaStatus.COMPENSATING if saga.direction == Direction.COMPENSATION else SagaStatus.RUNNING
    effects = [
        _("Runs the %(kind)s “%(step)s” again with a fresh set of attempts.")
        % {"kind": _direction_word(saga), "step": saga.current_step},
        _("The saga becomes %(status)s, gets a new deadline, and the workers pick it up.")
        % {"status": status_code_name(status)},
    ]
    if saga.resolved_at:
        effects.append(_("The “resolved” mark is cleared."))
    return Plan(effects=effects)


def _explain_compensate(saga: SagaInstance) -> Plan:
    plan = services.compensation_plan(saga)
    if plan.empty:
        return Plan(effects=[_("Nothing has been done that needs undoing: the saga becomes COMPENSATED at once.")])
    if plan.stages:
        return Plan(effects=[plan.heading, *plan.stages])
    return Plan(effects=[_("Stops the saga where it is."), plan.heading], compensations=plan.compensations)


def _explain_resume(saga: SagaInstance) -> Plan:
    return Plan(effects=services.resume_effects(saga))


def _explain_pause(saga: SagaInstance) -> Plan:
    return Plan(
        effects=[
            _("Workers and the recovery sweep leave the saga alone until someone unpauses it."),
            _("An attempt running right now is dropped at its checkpoint and runs again after the unpause."),
        ]
    )


def _explain_unpause(saga: SagaInstance) -> Plan:
    if saga.status in ACTIVE_STATUSES:
        return Plan(
            effects=[
                _("The workers continue with the %(kind)s “%(step)s”.")
                % {"kind": _direction_word(saga), "step": saga.current_step}
            ]
        )
    return Plan(
        effects=[
            _("Clears the pause flag; the saga is %(status)s and stays so.") % {"status": status_code_name(saga.status)}
        ]
    )


def _explain_edit_input(saga: SagaInstance) -> Plan:
    return Plan(
        effects=[
            _("Replaces the saga's input with the JSON you enter below (the %(key)s cannot change).")
            % {"key": business_key_name(saga.definition_name)},
            _("Then retries the %(kind)s “%(step)s” with a fresh set of attempts.")
            % {"kind": _direction_word(saga), "step": saga.current_step},
            _("The audit record keeps the input before and after."),
        ]
    )


def _explain_skip_step(saga: SagaInstance) -> Plan:
    definition = get_definition(saga.definition_name, saga.definition_version)
    new = transitions.after_success(definition, Position(saga.status, saga.direction, saga.step_index))
    if new.terminal:
        then = _("Then the saga ends as %(status)s.") % {"status": status_code_name(new.status)}
    else:
        following = _("compensation") if new.direction == Direction.COMPENSATION else _("step")
        then = _("Then the saga goes on with the %(kind)s “%(step)s”.") % {
            "kind": following,
            "step": definition.step(new.step_index).name,
        }
    return Plan(
        effects=[
            _(
                "Counts the %(kind)s “%(step)s” as done without calling its service: do this only when "
                "its effect was carried out by hand."
            )
            % {"kind": _direction_word(saga), "step": saga.current_step},
            then,
        ]
    )


def _explain_resolve(saga: SagaInstance) -> Plan:
    return Plan(
        effects=[
            _("Records that you dealt with the saga by hand; it stays FAILED and nothing is run."),
            _("It leaves the “needs attention” list."),
        ]
    )


_EFFECTS: dict[OperatorAction, Callable[[SagaInstance], Plan]] = {
    OperatorAction.RETRY: _explain_retry,
    OperatorAction.COMPENSATE: _explain_compensate,
    OperatorAction.RESUME: _explain_resume,
    OperatorAction.PAUSE: _explain_pause,
    OperatorAction.UNPAUSE: _explain_unpause,
    OperatorAction.EDIT_INPUT: _explain_edit_input,
    OperatorAction.SKIP_STEP: _explain_skip_step,
    OperatorAction.RESOLVE: _explain_resolve,
}


def plan_for(action: OperatorAction, saga: SagaInstance) -> Plan:
    """What the action would do to the saga, or why it is refused: the refusal is the service's own rule."""
    refusal = services.REFUSALS[action](saga)
    if refusal:
        return Plan(refusal=refusal)
    return _EFFECTS[action](saga)


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            OperatorAction.RETRY,
            gettext_lazy("Retry the failed step"),
            gettext_lazy("Retry"),
            "retry_saga",
            services.saga_retry,
        ),
        Operation(
            OperatorAction.COMPENSATE,
            gettext_lazy("Compensate now"),
            gettext_lazy("Compensate"),
            "compensate_saga",
            services.saga_compensate,
        ),
        Operation(
            OperatorAction.RESUME,
            gettext_lazy("Resume a stuck saga"),
            gettext_lazy("Resume"),
            "resume_saga",
            services.saga_resume,
        ),
        Operation(
            OperatorAction.PAUSE, gettext_lazy("Pause"), gettext_lazy("Pause"), "pause_saga", services.saga_pause
        ),
        Operation(
            OperatorAction.UNPAUSE,
            gettext_lazy("Unpause"),
            gettext_lazy("Unpause"),
            "pause_saga",
            services.saga_unpause,
        ),
        Operation(
            OperatorAction.EDIT_INPUT,
            gettext_lazy("Edit input and retry"),
            gettext_lazy("Save the input and retry"),
            "edit_saga_input",
            services.saga_edit_input,
            superuser_only=True,
            bulk=False,
        ),
        Operation(
            OperatorAction.SKIP_STEP,
            gettext_lazy("Skip the failed step"),
            gettext_lazy("Skip the step"),
            "skip_saga_step",
            services.saga_skip_step,
        ),
        Operation(
            OperatorAction.RESOLVE,
            gettext_lazy("Mark resolved"),
            gettext_lazy("Mark resolved"),
            "resolve_saga",
            services.saga_resolve,
        ),
    )
}
