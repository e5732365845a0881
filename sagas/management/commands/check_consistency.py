"""Check every invariant of the saga system: the engine's own and those each saga definition registers.

Prints each violation with its invariant, saga and business key, then a summary per invariant.
Exits 1 when anything is wrong and 0 when all invariants hold, so it can gate a deploy or
page someone. Reads only; safe to run at any time (results on a busy system are a snapshot
per database, so a saga finishing mid-check may need a second run to settle).
"""

import json
import sys
import time
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from sagas.consistency import DEFAULT_STUCK_GRACE_SECONDS, all_invariants, find_violations
from sagas.management.arguments import whole_number
from sagas.management.help import command_help


class Command(BaseCommand):
    help = command_help(
        gettext_noop(
            "Check every invariant of the saga system: the engine's own and those each saga definition registers."
        ),
        __doc__,
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help=_("Print one JSON object instead of text."))
        parser.add_argument(
            "--stuck-grace",
            type=whole_number(),
            default=DEFAULT_STUCK_GRACE_SECONDS,
            metavar="SECONDS",
            help=_(
                "How long past its deadline an untouched saga may sit before it counts as stuck (default %(seconds)s)."
            )
            % {"seconds": DEFAULT_STUCK_GRACE_SECONDS},
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        violations = find_violations(stuck_grace_seconds=options["stuck_grace"])
        elapsed = time.monotonic() - started
        counts = Counter(v.invariant for v in violations)
        if options["json"]:
            report = {
                "ok": not violations,
                "seconds": round(elapsed, 3),
                "counts": {str(number): counts[number] for number in sorted(counts)},
                "violations": [v.as_dict() for v in violations],
            }
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for v in violations:
                self.stdout.write(
                    _("invariant %(number)s  saga %(saga)s  key %(key)s  %(message)s")
                    % {
                        "number": v.invariant,
                        "saga": v.saga_id or "-",
                        "key": v.business_key or "-",
                        "message": v.message_in_language(),
                    }
                )
            self.stdout.write(self._summary(counts, len(violations), elapsed))
        if violations:
            self.stdout.flush()
            sys.exit(1)

    def _summary(self, counts: Counter, total: int, elapsed: float) -> str:
        invariants = all_invariants()
        if not total:
            return self.style.SUCCESS(
                _("No violations: all %(count)d invariants hold (%(seconds)ss).")
                % {"count": len(invariants), "seconds": f"{elapsed:.2f}"}
            )
        lines = [
            self.style.ERROR(
                ngettext("%(count)d violation (%(seconds)ss):", "%(count)d violations (%(seconds)ss):", total)
                % {"count": total, "seconds": f"{elapsed:.2f}"}
            )
        ]
        for number, title in invariants.items():
            if counts[number]:
                lines.append(
                    "  "
                    + _("invariant %(number)s: %(count)d  (%(title)s)")
                    % {"number": number, "count": counts[number], "title": title}
                )
        return "\n".join(lines)
