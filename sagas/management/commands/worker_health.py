"""Liveness check of the worker cluster, for a process supervisor: exit 0 healthy, 1 stalled.

Stalled means queued tasks have been free to take for longer than --stall-seconds and no
saga step finished in that window: workers are there (or should be) but none is taking work.
That is how a known django-q2 stall looks (a worker dies and its cluster stops pulling tasks
while its processes stay up); a supervisor that restarts the cluster on exit code 1 brings it
back, and the engine's leases and recovery sweep carry on every saga it held.

A busy cluster with a backlog is healthy as long as steps keep finishing; an idle one with
an empty queue is healthy. The check reads the queue and the step log of the shared
database, so it speaks for the whole deployment: run it beside each cluster. Exit code 2
means the check itself could not run (for example, the database is unreachable).
"""

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sagas.management.arguments import whole_number
from sagas.management.help import command_help
from sagas.ops.health import worker_health


class Command(BaseCommand):
    help = command_help(
        gettext_noop("Liveness check of the worker cluster, for a process supervisor: exit 0 healthy, 1 stalled."),
        __doc__,
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--stall-seconds",
            type=whole_number(),
            default=None,
            metavar="SECONDS",
            help=_(
                "How long a task may wait untaken with no step finishing "
                "(default: the HEALTH_QUEUE_STALL_SECONDS setting, 120)."
            ),
        )
        parser.add_argument("--json", action="store_true", help=_("Print one JSON object."))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = worker_health(stall_seconds=options["stall_seconds"])
        except DatabaseError as exc:
            self.stderr.write(_("cannot check the workers: %(error)s") % {"error": exc})
            raise SystemExit(2) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            style = self.style.SUCCESS if report.healthy else self.style.ERROR
            # The verdict is not in the f-string: xgettext reads no call inside one.
            verdict = _("healthy") if report.healthy else _("STALLED")
            self.stdout.write(style(f"{verdict}: {report.reason}"))
        if not report.healthy:
            self.stdout.flush()
            raise SystemExit(1)
