"""Deliver the events the services' outboxes still hold, and look after choreographed sagas.

Queues every outbox event that no relay handed over (a crash between a service's commit
and its relay), older than --older-than seconds so the relay on commit is not doubled.
With --sweep it also purges delivered events past OUTBOX_RETENTION_HOURS (but none of a
saga in progress, or FAILED and not marked resolved), asks to cancel choreographed sagas past
their deadline and re-delivers the events of idle ones, as the scheduled sweep does.
Delivery is at least once: subscribers ignore a repeat.
"""

from typing import Any

from django.core.management.base import BaseCommand

from sagas.choreography.sweep import relay_pending, sweep
from sagas.management.arguments import decimal_number


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only list what would be delivered.")
        parser.add_argument(
            "--older-than",
            type=decimal_number(),
            default=0,
            metavar="SECONDS",
            help="Leave events younger than this to the relay on commit (default 0: deliver all).",
        )
        parser.add_argument(
            "--sweep", action="store_true", help="Also purge, cancel past-deadline sagas and re-deliver idle ones."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run, older_than = options["dry_run"], options["older_than"]
        if options["sweep"]:
            report = sweep(grace_seconds=older_than, dry_run=dry_run)
            relayed = report.relayed
        else:
            report, relayed = None, relay_pending(older_than, dry_run=dry_run)
        verb = "would deliver" if dry_run else "delivered"
        for service, event in relayed:
            self.stdout.write(
                f"{verb} {service} {event.type} #{event.sequence} event {event.id} of saga {event.saga_id}"
            )
        if report is not None:
            for saga_id in report.cancelled:
                self.stdout.write(f"past deadline, cancel requested: {saga_id}")
            for saga_id in report.redelivered:
                self.stdout.write(f"idle, events delivered again: {saga_id}")
            self.stdout.write(report.summary())
        else:
            self.stdout.write(f"{verb} {len(relayed)} event(s)")
