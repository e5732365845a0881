"""Fill the saga tables to a million sagas, then time the admin saga list and check_consistency."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext_noop

from sagas.bench import admin_pages as admin_bench
from sagas.management.arguments import whole_number
from sagas.management.help import command_help


class Command(BaseCommand):
    help = command_help(
        gettext_noop("Fill the saga tables to a million sagas, then time the admin saga list and check_consistency."),
        __doc__,
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--sagas", type=whole_number(), default=1_000_000, help="Fill up to this many sagas (default 1M)."
        )
        parser.add_argument("--no-fill", action="store_true", help="Measure the table as it is.")
        parser.add_argument(
            "--runs", type=whole_number(minimum=1), default=5, help="Fetches per page; the median is reported."
        )
        parser.add_argument(
            "--consistency-runs", type=whole_number(minimum=1), default=3, help="Runs of check_consistency."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["runs"] < 1 or options["consistency_runs"] < 1 or options["sagas"] < 0:
            raise CommandError("--sagas must be 0 or more, --runs and --consistency-runs 1 or more.")
        quiet = options["json"]
        if not options["no_fill"]:
            added = admin_bench.fill_to(options["sagas"], progress=None if quiet else self._progress)
            if not quiet:
                self.stdout.write(f"\nadded {added:,} sagas")
        sizes = admin_bench.table_sizes()
        pages = admin_bench.time_pages(options["runs"])
        consistency = admin_bench.time_consistency(options["consistency_runs"])
        vendor = connections["default"].vendor
        if quiet:
            report = {
                "database": vendor,
                **sizes,
                "pages": [t.as_dict() for t in pages],
                "check_consistency": consistency.as_dict(),
            }
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(f"{sizes['sagas']:,} sagas, {sizes['step_logs']:,} step log rows, on {vendor}")
        self.stdout.write(f"{'page':<30} {'median ms':>10} {'min':>8} {'max':>8} {'queries':>8} {'rows':>5}")
        for timing in pages:
            row = timing.as_dict()
            self.stdout.write(
                f"{row['label']:<30} {row['median_ms']:>10.1f} {row['min_ms']:>8.1f} {row['max_ms']:>8.1f} "
                f"{row['queries']:>8} {row['rows']:>5}"
            )
        row = consistency.as_dict()
        self.stdout.write(
            f"{'check_consistency':<30} {row['median_ms'] / 1000:>9.2f}s {row['min_ms'] / 1000:>7.2f}s "
            f"{row['max_ms'] / 1000:>7.2f}s  {row['detail']}"
        )

    def _progress(self, done: int, total: int) -> None:
        self.stdout.write(f"\rfilling: {done:,} / {total:,} sagas", ending="")
        self.stdout.flush()
