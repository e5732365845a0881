"""Run again the step that stopped a FAILED saga, with a fresh set of attempts.

A forward step that ran out of attempts under a "stop for an operator" policy runs forward
again; a compensation that ran out of attempts carries on compensating. Refuses any saga
that is not FAILED. Leaves an audit record (who, when, why) in the saga's step log.
"""

from typing import Any

from django.utils.translation import gettext_noop

from sagas.management.help import command_help
from sagas.management.operator import OperatorCommand, describe
from sagas.services import saga_retry


class Command(OperatorCommand):
    help = command_help(
        gettext_noop("Run again the step that stopped a FAILED saga, with a fresh set of attempts."), __doc__
    )
    action = "retry"

    def handle(self, *args: Any, **options: Any) -> None:
        saga = self.load(options)
        before = describe(saga)
        after = self.perform(saga_retry, saga, options["dry_run"], actor=options["actor"], reason=options["reason"])
        self.report(saga, before, after, options["dry_run"], options)
