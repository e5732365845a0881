"""Stop a running or FAILED saga and undo what it did.

Lists the compensations that will run, in the order they will run, and asks before acting
(--yes skips the question); for a choreographed saga it says which service undoes its part
on which event, in the same words as the admin's confirmation page. Refuses a saga that has
finished, is already compensating, or is past its pivot step (what is done there is final).
Leaves an audit record (who, when, why) in the saga's step log.
"""

import sys
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sagas.management.help import command_help
from sagas.management.operator import OperatorCommand, describe
from sagas.models import SagaInstance
from sagas.services import compensation_plan, saga_compensate


class Command(OperatorCommand):
    help = command_help(gettext_noop("Stop a running or FAILED saga and undo what it did."), __doc__)
    action = "compensate"
    # call_command(..., stdin=...) feeds the confirmation in tests and scripts.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument("--yes", action="store_true", help=_("Do not ask for confirmation."))

    def handle(self, *args: Any, **options: Any) -> None:
        saga = self.load(options)
        before = describe(saga)
        kwargs = {"actor": options["actor"], "reason": options["reason"]}
        # A rolled-back run first: a saga that cannot be compensated is refused before the question.
        would_be = self.perform(saga_compensate, saga, dry_run=True, **kwargs)
        self._list_plan(saga)
        if options["dry_run"]:
            self.report(saga, before, would_be, True, options)
            return
        if not options["yes"] and not self._confirmed(saga, options.get("stdin") or sys.stdin):
            self.stdout.write(_("Not compensated; nothing was changed."))
            return
        after = self.perform(saga_compensate, saga, dry_run=False, **kwargs)
        self.report(saga, before, after, False, options)

    def _list_plan(self, saga: SagaInstance) -> None:
        plan = compensation_plan(saga)
        if plan.empty:
            self.stdout.write(
                _("Saga %(saga)s (%(where)s): nothing to undo; it will be marked compensated.")
                % {"saga": saga.pk, "where": describe(saga)}
            )
            return
        # The same words as the admin's confirmation page.
        self.stdout.write(
            _("Saga %(saga)s (%(where)s). %(heading)s")
            % {"saga": saga.pk, "where": describe(saga), "heading": plan.heading}
        )
        for stage in plan.stages:
            self.stdout.write(f"  {stage}")
        for number, compensation in enumerate(plan.compensations, 1):
            self.stdout.write(f"  {number}. {compensation}")

    def _confirmed(self, saga: SagaInstance, stream: Any) -> bool:
        self.stdout.write(_("Compensate saga %(saga)s? [y/N] ") % {"saga": saga.pk}, ending="")
        self.stdout.flush()
        answer = stream.readline()
        if not answer:
            raise CommandError(_("No answer to the confirmation (stdin closed); use --yes to skip it."))
        return answer.strip().lower() in ("y", "yes")
