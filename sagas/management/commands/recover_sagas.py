"""Find sagas that should be moving and are not, and hand them back to the workers.

Kicks sagas with an expired lease, a retry whose time has come, no activity for
--older-than seconds (an enqueue lost in a crash), or a passed deadline (they compensate).
Speaks LANGUAGE_CODE (`LANGUAGE_CODE=ja`); the log line the sweep writes stays English.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from sagas.engine.recovery import DEFAULT_IDLE_SECONDS, sweep
from sagas.management.arguments import whole_number
from sagas.management.help import command_help

# Why each saga is kicked, one label per list of the sweep's report.
REASONS = {
    "expired_leases": gettext_lazy("expired leases"),
    "retries_due": gettext_lazy("retries due"),
    "idle": gettext_lazy("idle"),
    "past_deadline": gettext_lazy("past deadline"),
}


class Command(BaseCommand):
    help = command_help(
        gettext_noop("Find sagas that should be moving and are not, and hand them back to the workers."), __doc__
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help=gettext("Only list what would be enqueued."))
        parser.add_argument(
            "--older-than",
            type=whole_number(),
            default=DEFAULT_IDLE_SECONDS,
            metavar="SECONDS",
            help=gettext("Idle time after which a saga counts as lost (default %(seconds)s).")
            % {"seconds": DEFAULT_IDLE_SECONDS},
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = sweep(idle_seconds=options["older_than"], dry_run=options["dry_run"])
        for reason, label in REASONS.items():
            for saga_id in getattr(report, reason):
                self.stdout.write(f"{label}: {saga_id}")
        self.stdout.write(report.summary(gettext))
