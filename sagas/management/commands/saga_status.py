"""Show a saga, its status and every step attempt, compensation and operator action.

The saga is named by its id or its business key (an order's id, for the order saga), whole
or by the first 4 or more characters that people see in the shop and the saga list. The key
is named in its definition's words ("order id"), and the party the saga belongs to by name.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

from sagas.engine.definition import business_key_name
from sagas.lookup import ID_HELP
from sagas.management.operator import resolve_or_explain
from sagas.models import Direction, SagaInstance, SagaStepLog
from sagas.participant.customers import customer_name


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("saga_id", help=ID_HELP)
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["json"]:
            # The JSON stays one object: which id matched goes to stderr.
            saga = resolve_or_explain(self, options["saga_id"], out=self.stderr)
            steps = list(saga.steps.order_by("started_at", "id"))
            self.stdout.write(json.dumps(_as_dict(saga, steps), indent=2, default=str))
            return
        saga = resolve_or_explain(self, options["saga_id"])
        steps = list(saga.steps.order_by("started_at", "id"))
        self.stdout.write(f"saga      {saga.id}")
        self.stdout.write(f"type      {saga.definition_name} v{saga.definition_version} ({saga.style})")
        self.stdout.write(f"status    {saga.status}{' (paused)' if saga.paused else ''}")
        self.stdout.write(f"{business_key_name(saga.definition_name):<9} {_key(saga)}  party {_party(saga)}")
        self.stdout.write(f"step      {_step_line(saga, steps)}")
        self.stdout.write(f"created   {saga.created_at:%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC")
        if saga.finished_at:
            self.stdout.write(f"finished  {saga.finished_at:%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC")
        if saga.deadline_at:
            self.stdout.write(f"deadline  {_deadline_line(saga)}")
        if saga.last_error:
            self.stdout.write(f"error     {saga.last_error}")
        if saga.resolved_at:
            self.stdout.write(f"resolved  by {saga.resolved_by} at {saga.resolved_at:%Y-%m-%d %H:%M:%S}")
        self.stdout.write("")
        self.stdout.write(f"{'#':>3}  {'step':<16} {'direction':<13} {'try':>3}  {'status':<10} {'ms':>6}  detail")
        for number, step in enumerate(steps, 1):
            detail = step.error_message or (f"{step.action} by {step.actor}: {step.reason}" if step.actor else "")
            duration = step.duration_ms
            self.stdout.write(
                f"{number:>3}  {step.step_name:<16} {step.direction.lower():<13} {step.attempt:>3}  "
                f"{step.status:<10} {'' if duration is None else duration:>6}  {detail}"
            )


def _key(saga: SagaInstance) -> str:
    return str(saga.business_key) if saga.business_key else "-"


def _party(saga: SagaInstance) -> str:
    """Whom the saga belongs to, by name (a user's id is kept, its username shown), or a dash."""
    return customer_name(saga.party) if saga.party else "-"


def _step_line(saga: SagaInstance, steps: list[SagaStepLog]) -> str:
    """Where the saga stands; for a finished saga (no step left to run), the last step and its outcome."""
    if not saga.is_terminal and saga.current_step:
        return f"{saga.current_step} ({saga.direction.lower()}, attempt {saga.attempt})"
    calls = [step for step in steps if step.direction not in (Direction.OPERATOR, Direction.SYSTEM)]
    if not calls:
        return "\u2014 " + (_("(finished; no step ran)") if saga.is_terminal else _("(no step started yet)"))
    last = calls[-1]
    return "\u2014 " + _("finished; last step %(step)s (%(direction)s, attempt %(attempt)s): %(status)s") % {
        "step": last.step_name,
        "direction": last.direction.lower(),
        "attempt": last.attempt,
        "status": last.status,
    }


def _deadline_line(saga: SagaInstance) -> str:
    """The deadline in UTC; while the saga runs, how long is left or since when it is overdue."""
    when = f"{saga.deadline_at:%Y-%m-%d %H:%M:%S} UTC"
    if saga.is_terminal:
        return when
    now = timezone.now()
    if saga.deadline_at <= now:
        note = _("(passed %(ago)s ago)") % {"ago": timesince(saga.deadline_at, now, depth=1)}
    else:
        note = _("(in %(left)s)") % {"left": timeuntil(saga.deadline_at, now, depth=1)}
    return f"{when}  {note}".replace("\xa0", " ")  # a terminal needs no non-breaking space


def _as_dict(saga: Any, steps: list[Any]) -> dict[str, Any]:
    return {
        "id": str(saga.id),
        "definition": saga.definition_name,
        "version": saga.definition_version,
        "style": saga.style,
        "status": saga.status,
        "paused": saga.paused,
        "business_key": str(saga.business_key) if saga.business_key else None,
        "business_key_name": business_key_name(saga.definition_name),
        "party": customer_name(saga.party) if saga.party else None,
        "current_step": saga.current_step,
        "direction": saga.direction,
        "attempt": saga.attempt,
        "last_error": saga.last_error,
        "created_at": saga.created_at,
        "deadline_at": saga.deadline_at,
        "finished_at": saga.finished_at,
        "steps": [
            {
                "step": step.step_name,
                "direction": step.direction,
                "attempt": step.attempt,
                "status": step.status,
                "started_at": step.started_at,
                "duration_ms": step.duration_ms,
                "error": step.error_message,
                "action": step.action,
                "actor": step.actor,
                "reason": step.reason,
            }
            for step in steps
        ],
    }
