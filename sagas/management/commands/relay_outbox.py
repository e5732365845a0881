"""Deliver the events the services' outboxes still hold, and look after choreographed sagas.

Queues every outbox event that no relay handed over (a crash between a service's commit
and its relay), older than --older-than seconds so the relay on commit is not doubled.
With --sweep it also purges delivered events past OUTBOX_RETENTION_HOURS (but none of a
saga in progress, or FAILED and not marked resolved), asks to cancel choreographed sagas past
their deadline and re-delivers the events of idle ones, as the scheduled sweep does.
Delivery is at least once: subscribers ignore a repeat. Speaks LANGUAGE_CODE (`LANGUAGE_CODE=ja`).
"""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_noop

from sagas.choreography.sweep import relay_pending, sweep
from sagas.management.arguments import decimal_number
from sagas.management.help import command_help


class Command(BaseCommand):
    help = command_help(
        gettext_noop("Deliver the events the services' outboxes still hold, and look after choreographed sagas."),
        __doc__,
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help=gettext("Only list what would be delivered."))
        parser.add_argument(
            "--older-than",
            type=decimal_number(),
            default=0,
            metavar="SECONDS",
            help=gettext("Leave events younger than this to the relay on commit (default 0: deliver all)."),
        )
        parser.add_argument(
            "--sweep",
            action="store_true",
            help=gettext("Also purge, cancel past-deadline sagas and re-deliver idle ones."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run, older_than = options["dry_run"], options["older_than"]
        if options["sweep"]:
            report = sweep(grace_seconds=older_than, dry_run=dry_run)
            relayed = report.relayed
        else:
            report, relayed = None, relay_pending(older_than, dry_run=dry_run)
        line = (
            gettext("would deliver %(service)s %(type)s #%(sequence)s event %(event)s of saga %(saga)s")
            if dry_run
            else gettext("delivered %(service)s %(type)s #%(sequence)s event %(event)s of saga %(saga)s")
        )
        for service, event in relayed:
            self.stdout.write(
                line
                % {
                    "service": service,
                    "type": event.type,
                    "sequence": event.sequence,
                    "event": event.id,
                    "saga": event.saga_id,
                }
            )
        if report is not None:
            for saga_id in report.cancelled:
                self.stdout.write(gettext("past deadline, cancel requested: %(saga)s") % {"saga": saga_id})
            for saga_id in report.redelivered:
                self.stdout.write(gettext("idle, events delivered again: %(saga)s") % {"saga": saga_id})
            self.stdout.write(report.summary(gettext))
        else:
            total = gettext("would deliver %(count)d event(s)") if dry_run else gettext("delivered %(count)d event(s)")
            self.stdout.write(total % {"count": len(relayed)})
