"""Show a saga, its status and every step attempt, compensation and operator action.

The saga is named by its id or its business key (an order's id, for the order saga), whole
or by the first 4 or more characters that people see in the shop and the saga list. The key
is named in its definition's words ("order id"), and the party the saga belongs to by name.
Times are in the site's zone (TIME_ZONE), named; the words in LANGUAGE_CODE (`LANGUAGE_CODE=ja`).
--json prints the stored codes and UTC times, whatever the language.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

from sagas.engine.definition import business_key_name
from sagas.engine.notes import note_in_language
from sagas.lookup import ID_HELP
from sagas.management.columns import cells, left, right
from sagas.management.help import command_help
from sagas.management.operator import resolve_or_explain
from sagas.models import (
    Direction,
    SagaInstance,
    SagaStepLog,
    action_code_name,
    direction_code_name,
    status_code_name,
    step_status_code_name,
    style_code_name,
)
from sagas.participant.customers import customer_name
from sagas.templatetags.localtime_named import local_time


class Command(BaseCommand):
    help = command_help(
        gettext_noop("Show a saga, its status and every step attempt, compensation and operator action."), __doc__
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("saga_id", help=ID_HELP)
        parser.add_argument("--json", action="store_true", help=_("Print one JSON object."))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["json"]:
            # The JSON stays one object: which id matched goes to stderr.
            saga = resolve_or_explain(self, options["saga_id"], out=self.stderr)
            steps = list(saga.steps.order_by("started_at", "id"))
            self.stdout.write(json.dumps(_as_dict(saga, steps), indent=2, default=str))
            return
        saga = resolve_or_explain(self, options["saga_id"])
        steps = list(saga.steps.order_by("started_at", "id"))
        for label, value in _summary(saga, steps):
            self.stdout.write(f"{left(label, 9)} {value}")
        self.stdout.write("")
        # The column names are not in the f-string: xgettext reads no call inside one. A column
        # is as wide as its widest name or value (another language's may be wider).
        names = [
            pgettext("saga_status column", "step"),
            pgettext("saga_status column", "direction"),
            pgettext("saga_status column", "try"),
            pgettext("saga_status column", "status"),
            pgettext("saga_status column", "ms"),
        ]
        rows = [
            [
                step.step_name,
                direction_code_name(step.direction),
                step.attempt,
                step_status_code_name(step.status),
                "" if step.duration_ms is None else step.duration_ms,
            ]
            for step in steps
        ]
        widths = [
            max(width, *(cells(str(row[column])) for row in [names, *rows]))
            for column, width in enumerate((16, 13, 3, 10, 6))
        ]
        self.stdout.write(f"{right('#', 3)}  " + _row(names, widths) + "  " + pgettext("saga_status column", "detail"))
        for number, (step, row) in enumerate(zip(steps, rows, strict=True), 1):
            self.stdout.write(f"{right(number, 3)}  " + _row(row, widths) + f"  {_detail(step)}")


def _row(values: list[object], widths: list[int]) -> str:
    """The step log's columns: step, direction, try (right), status, ms (right)."""
    step, direction, attempt, status, ms = (
        align(value, width)
        for align, value, width in zip((left, left, right, left, right), values, widths, strict=True)
    )
    return f"{step} {direction} {attempt}  {status} {ms}"


def _summary(saga: SagaInstance, steps: list[SagaStepLog]) -> list[tuple[str, str]]:
    """The lines above the step log, each a label and its value, in the active language and zone."""
    paused = _(" (paused)") if saga.paused else ""
    lines = [
        (pgettext("saga_status label", "saga"), str(saga.id)),
        (
            pgettext("saga_status label", "type"),
            f"{saga.definition_name} v{saga.definition_version} ({style_code_name(saga.style)})",
        ),
        (pgettext("saga_status label", "status"), f"{status_code_name(saga.status)}{paused}"),
        (
            business_key_name(saga.definition_name),
            f"{_key(saga)}  " + pgettext("saga_status label", "party %(party)s") % {"party": _party(saga)},
        ),
        (pgettext("saga_status label", "step"), _step_line(saga, steps)),
        (pgettext("saga_status label", "created"), local_time(saga.created_at, "precise")),
    ]
    if saga.finished_at:
        lines.append((pgettext("saga_status label", "finished"), local_time(saga.finished_at, "precise")))
    if saga.deadline_at:
        lines.append((pgettext("saga_status label", "deadline"), _deadline_line(saga)))
    if saga.last_error:
        lines.append((pgettext("saga_status label", "error"), note_in_language(saga.last_error)))
    if saga.resolved_at:
        lines.append(
            (
                pgettext("saga_status label", "resolved"),
                _("by %(who)s at %(when)s") % {"who": saga.resolved_by, "when": local_time(saga.resolved_at)},
            )
        )
    return lines


def _detail(step: SagaStepLog) -> str:
    """An attempt's error (the engine's notes in the active language) or an operator's action and reason."""
    if step.error_message:
        return note_in_language(step.error_message)
    if step.actor:
        return _("%(action)s by %(actor)s: %(reason)s") % {
            "action": action_code_name(step.action),
            "actor": step.actor,
            "reason": step.reason,
        }
    return ""


def _key(saga: SagaInstance) -> str:
    return str(saga.business_key) if saga.business_key else "-"


def _party(saga: SagaInstance) -> str:
    """Whom the saga belongs to, by name (a user's id is kept, its username shown), or a dash."""
    return customer_name(saga.party) if saga.party else "-"


def _step_line(saga: SagaInstance, steps: list[SagaStepLog]) -> str:
    """Where the saga stands; for a finished saga (no step left to run), the last step and its outcome."""
    if not saga.is_terminal and saga.current_step:
        return _("%(step)s (%(direction)s, attempt %(attempt)s)") % {
            "step": saga.current_step,
            "direction": direction_code_name(saga.direction),
            "attempt": saga.attempt,
        }
    calls = [step for step in steps if step.direction not in (Direction.OPERATOR, Direction.SYSTEM)]
    if not calls:
        return "\u2014 " + (_("(finished; no step ran)") if saga.is_terminal else _("(no step started yet)"))
    last = calls[-1]
    return "\u2014 " + _("finished; last step %(step)s (%(direction)s, attempt %(attempt)s): %(status)s") % {
        "step": last.step_name,
        "direction": direction_code_name(last.direction),
        "attempt": last.attempt,
        "status": step_status_code_name(last.status),
    }


def _deadline_line(saga: SagaInstance) -> str:
    """The deadline in the active zone, named; while the saga runs, how long is left or since when it is overdue."""
    when = local_time(saga.deadline_at)
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
