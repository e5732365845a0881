"""Find sagas that should be moving and are not, and hand them back to the workers.

Kicks sagas with an expired lease, a retry whose time has come, no activity for
--older-than seconds (an enqueue lost in a crash), or a passed deadline (they compensate).
"""

from typing import Any

from django.core.management.base import BaseCommand

from sagas.engine.recovery import DEFAULT_IDLE_SECONDS, sweep
from sagas.management.arguments import whole_number


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only list what would be enqueued.")
        parser.add_argument(
            "--older-than",
            type=whole_number(),
            default=DEFAULT_IDLE_SECONDS,
            metavar="SECONDS",
            help=f"Idle time after which a saga counts as lost (default {DEFAULT_IDLE_SECONDS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = sweep(idle_seconds=options["older_than"], dry_run=options["dry_run"])
        for reason in ("expired_leases", "retries_due", "idle", "past_deadline"):
            for saga_id in getattr(report, reason):
                self.stdout.write(f"{reason.replace('_', ' ')}: {saga_id}")
        self.stdout.write(report.summary())
