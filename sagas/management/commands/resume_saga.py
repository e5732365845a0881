"""Hand a stuck saga back to the workers: its lease and backoff are cleared and it is queued.

For a saga in progress that nothing is moving (a lost queue row, a worker that died holding
it). A saga that a worker still holds under a live lease is refused unless --force is
given, which takes it over (the old holder's late checkpoint is then fenced out). Leaves an
audit record (who, when, why) in the saga's step log.
"""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sagas.management.help import command_help
from sagas.management.operator import OperatorCommand, describe
from sagas.services import saga_resume


class Command(OperatorCommand):
    help = command_help(
        gettext_noop("Hand a stuck saga back to the workers: its lease and backoff are cleared and it is queued."),
        __doc__,
    )
    action = "resume"

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument("--force", action="store_true", help=_("Take the saga over even from a live lease."))

    def handle(self, *args: Any, **options: Any) -> None:
        saga = self.load(options)
        before = describe(saga)
        after = self.perform(
            saga_resume,
            saga,
            options["dry_run"],
            actor=options["actor"],
            reason=options["reason"],
            force=options["force"],
        )
        self.report(saga, before, after, options["dry_run"], options)
        if not options["dry_run"]:
            self.stdout.write(_("Queued for the workers."))
