"""Benchmark the saga engine: place orders through a worker cluster and print what it took.

Runs the workload the saga's app registered with sagas.bench.run.register_run_workload (here the
order saga's). Sets up its own customers and products, starts its own cluster (or uses a running
one with --external), places --sagas orders, waits for every saga to finish, checks the invariants, and
prints throughput, latency percentiles, commits and queries per saga and the outcomes. With
--baseline it alternates rounds of sagas and of plain django-q2 tasks doing the same service
calls, and prints the engine's throughput as a ratio of the baseline's. With --cancel-rate it
cancels that share of the completed sagas through the workload's cancellation and measures the
cancelling sagas too. With --compare-ref it runs all of that alternately on an older commit and
on the working tree, each in fresh databases, and prints both builds' medians and their ratios.
"""

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sagas.bench import compare
from sagas.bench import run as benchmark
from sagas.management.arguments import decimal_number, whole_number
from sagas.management.columns import left, right
from sagas.management.help import command_help
from sagas.models import SagaStyle
from sagas.testing.cluster import WorkerCluster, descendant_pids

# Options a comparison keeps for itself instead of passing them on to each build's runs.
_NOT_PASSED_ON = {"compare_ref", "rounds", "json", "external"}


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


class Command(BaseCommand):
    help = command_help(
        gettext_noop("Benchmark the saga engine: place orders through a worker cluster and print what it took."),
        __doc__,
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--sagas", type=whole_number(minimum=1), default=2000, help="Orders to place (default 2000)."
        )
        parser.add_argument(
            "--workers", type=whole_number(minimum=1), default=2, help="Worker processes in the cluster (default 2)."
        )
        parser.add_argument(
            "--broker",
            choices=["orm", "redis"],
            help="The broker, as Q_BROKER sets it (default: Q_BROKER); this command queues there too.",
        )
        parser.add_argument("--external", action="store_true", help="Use a cluster that is already running.")
        parser.add_argument(
            "--clusters",
            type=whole_number(minimum=1),
            default=1,
            help="qcluster processes to start, each with --workers (default 1).",
        )
        parser.add_argument(
            "--one-by-one",
            action="store_true",
            help="Place each order only when the one before has finished: latency on an idle system.",
        )
        parser.add_argument(
            "--style",
            choices=[*SagaStyle.values, "mixed"],
            default=SagaStyle.ORCHESTRATION.value,
            help="The style the sagas run in; mixed alternates them.",
        )
        parser.add_argument(
            "--fail-rate",
            type=decimal_number(maximum=1),
            default=0.0,
            help="Share of orders refused for lack of funds.",
        )
        parser.add_argument("--contended", action="store_true", help="Aim every order at two products and customers.")
        parser.add_argument("--baseline", action="store_true", help="Alternate with plain django-q2 tasks.")
        parser.add_argument(
            "--cancel-rate",
            type=decimal_number(maximum=1),
            default=0.0,
            help="Share of the completed sagas then cancelled through the workload's cancellation (measured too).",
        )
        parser.add_argument(
            "--rounds",
            type=whole_number(minimum=1),
            default=2,
            help="Alternating rounds with --baseline, or runs of each build with --compare-ref (default 2).",
        )
        parser.add_argument(
            "--compare-ref",
            metavar="GIT_REF",
            help="Run the same benchmark alternately on this older commit and on the working tree, "
            "each in fresh databases, and print both builds' medians and the ratios.",
        )
        parser.add_argument(
            "--timeout", type=decimal_number(), default=900, help="Seconds to wait for a round to finish."
        )
        parser.add_argument(
            "--json", metavar="PATH", help="Also write the figures as one JSON object ('-' for stdout)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        given = self._given(options)
        count = options["sagas"]
        if count < 1:
            raise CommandError("--sagas must be at least 1.")
        options["broker"] = options["broker"] or settings.Q_BROKER
        if options["broker"] != settings.Q_BROKER:
            # The orders are queued from this process: it must use the broker the workers read.
            raise CommandError(
                f"--broker {options['broker']} needs Q_BROKER={options['broker']} in this command's environment, "
                f"which now says {settings.Q_BROKER}."
            )
        if options["one_by_one"] and options["baseline"]:
            raise CommandError("--one-by-one measures latency alone; run --baseline separately.")
        if options["compare_ref"] is not None:
            self._compare(options, given)
            return
        from django.db import connections

        report = benchmark.BenchReport(
            sagas=count,
            style=options["style"],
            workers=options["workers"] * (1 if options["external"] else options["clusters"]),
            broker=options["broker"],
            backend=connections["default"].vendor,
            fail_rate=options["fail_rate"],
            contended=options["contended"],
        )
        rng = random.Random(42)
        self.stderr.write("preparing data...")
        try:
            workload = benchmark.run_workload()
            if options["cancel_rate"] and workload.cancel is None:
                raise LookupError(f"--cancel-rate: the saga {workload.definition_name!r} registers no cancellation.")
        except LookupError as error:
            raise CommandError(str(error)) from error
        data = benchmark.prepare_data(workload, count, options["contended"])
        report.queries_per_saga, report.queries_source = benchmark.queries_per_saga(data, options["style"])
        if options["cancel_rate"]:
            report.cancel_rate = options["cancel_rate"]
            report.cancel_saga = benchmark.cancel_workload(data).definition_name
            report.cancel_queries_per_saga, report.cancel_queries_source = benchmark.queries_per_cancel(data)
        clusters: list[WorkerCluster] = []
        if not options["external"]:
            for _number in range(options["clusters"]):
                clusters.append(WorkerCluster(workers=options["workers"], env={"Q_BROKER": options["broker"]}).start())
            time.sleep(2.0)
            report.worker_rss_start_kib = self._rss(clusters)
        # Every order is placed at once: those at the back of the queue must not pass their
        # deadline (and compensate) merely for waiting, so the deadline covers the whole wait.
        deadline = max(settings.SAGA_DEADLINE_SECONDS, int(options["timeout"]))
        try:
            with override_settings(SAGA_DEADLINE_SECONDS=deadline):
                self._rounds(report, data, rng, options)
            if clusters:
                report.worker_rss_end_kib = self._rss(clusters)
        finally:
            for cluster in clusters:
                cluster.stop()
        self._check(report)
        self._print(report)
        if options["json"]:
            self._write_json(report.as_dict(), options["json"])

    def _rounds(self, report: Any, data: Any, rng: random.Random, options: dict[str, Any]) -> None:
        rounds = max(options["rounds"], 1) if options["baseline"] else 1
        per_round = max(report.sagas // rounds, 1)
        saga_ids: list[str] = []
        cancels = benchmark.CancelRounds(options["cancel_rate"])
        saga_seconds = enqueue_seconds = baseline_seconds = 0.0
        baseline_count = 0
        commits = 0
        statements: int | None = 0
        for number in range(rounds):
            before = benchmark.pg_commits()
            calls_before = benchmark.pg_statement_calls()
            started = time.monotonic()
            if options["one_by_one"]:
                ids, placed = benchmark.place_one_by_one(
                    data, per_round, options["style"], options["fail_rate"], rng, options["timeout"]
                )
            else:
                ids, placed = benchmark.place_sagas(data, per_round, options["style"], options["fail_rate"], rng)
                benchmark.wait_for_sagas(ids, options["timeout"], label=f"sagas {number + 1}/{rounds}")
            saga_seconds += time.monotonic() - started
            enqueue_seconds += placed
            after = benchmark.pg_commits()
            if before is not None and after is not None:
                commits += after - before
            calls_after = benchmark.pg_statement_calls()
            if statements is not None and calls_before is not None and calls_after is not None:
                statements += calls_after - calls_before
            else:
                statements = None
            saga_ids.extend(ids)
            if cancels.rate:
                cancels.run(data, ids, options["timeout"], label=f"cancels {number + 1}/{rounds}")
            if options["baseline"]:
                result = benchmark.run_baseline(data, per_round, options["fail_rate"], rng, options["timeout"])
                baseline_seconds += result.seconds
                baseline_count += result.count
        benchmark.summarise(report, saga_ids, saga_seconds, enqueue_seconds)
        if cancels.rate:
            cancels.summarise(report)
        if report.backend == "postgresql":
            report.commits_per_saga = round(commits / len(saga_ids), 1)
        if statements:
            report.queries_per_saga = round(statements / len(saga_ids), 1)
            report.queries_source = "pg_stat_statements, whole run"
        if options["baseline"] and baseline_seconds:
            report.baseline_per_second = round(baseline_count / baseline_seconds, 1)
            report.ratio_to_baseline = round(report.sagas_per_second / report.baseline_per_second, 3)

    def _given(self, options: dict[str, Any]) -> list[compare.Argument]:
        """This command's own options as given (or defaulted), to pass on to each build of a comparison."""
        base = {action.dest for action in BaseCommand().create_parser("manage.py", "base")._actions}
        given = []
        for action in self.create_parser("manage.py", "bench_sagas")._actions:
            if action.dest in base or action.dest in _NOT_PASSED_ON:
                continue
            value = options.get(action.dest)
            flag = action.option_strings[0]
            if isinstance(action, argparse._StoreTrueAction):
                if value:
                    given.append(compare.Argument(flag, (), default=False))
            elif value is not None:
                text = f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
                given.append(compare.Argument(flag, (text,), default=value == action.default))
        return given

    def _compare(self, options: dict[str, Any], given: list[compare.Argument]) -> None:
        if options["external"]:
            raise CommandError(_("--compare-ref starts each build's own cluster: it cannot use --external."))
        try:
            comparison = compare.compare(
                Path(settings.BASE_DIR), options["compare_ref"], given, options["rounds"], self.stderr.write
            )
        except compare.CompareError as error:
            raise CommandError(str(error)) from error
        self._print_comparison(comparison)
        if options["json"]:
            self._write_json(comparison.as_dict(), options["json"])

    def _print_comparison(self, comparison: compare.Comparison) -> None:
        old, new = comparison.old, comparison.new
        # The words are not in the f-strings: xgettext reads no call inside one.
        old_word, new_word, runs_word, left_out = _("old"), _("new"), _("runs"), _("left out")
        median, ratio_word = _("median of the runs"), _("new/old")
        self.stdout.write(f"{left(old_word, 14)} {old.name}")
        self.stdout.write(f"{left(new_word, 14)} {new.name}")
        self.stdout.write(
            f"{left(runs_word, 14)} "
            + _("%(rounds)d of each, alternately (old first): bench_sagas %(arguments)s")
            % {"rounds": comparison.rounds, "arguments": " ".join(comparison.argv)}
        )
        for text in comparison.dropped:
            self.stdout.write(
                f"{left(left_out, 14)} " + _("%(argument)s (one build has no such option)") % {"argument": text}
            )
        ratios = comparison.ratios()
        self.stdout.write(f"\n{left(median, 28)} {right(old_word, 10)} {right(new_word, 10)} {right(ratio_word, 8)}")
        for figure in compare.FIGURES:
            before, after = old.median(figure.key), new.median(figure.key)
            if before is None and after is None:
                continue
            ratio = f"{ratios[figure.key]:.2f}" if figure.key in ratios else "n/a"
            self.stdout.write(f"{left(figure.label, 28)} {_shown(before):>10} {_shown(after):>10} {ratio:>8}")
        for build in (old, new):
            runs = " ".join(_shown(run.get("sagas_per_second")) for run in build.runs)
            self.stdout.write(_("%(side)s build, each run (sagas/s): %(runs)s") % {"side": build.side, "runs": runs})
        for build in (old, new):
            violations = [run.get("consistency_violations") for run in build.runs]
            if any(violations):
                self.stdout.write(
                    _("%(side)s build: %(count)d consistency violation(s) over its runs")
                    % {"side": build.side, "count": sum(v or 0 for v in violations)}
                )

    def _write_json(self, figures: dict[str, Any], target: str) -> None:
        text = json.dumps(figures, indent=2)
        if target == "-":
            self.stdout.write(text)
        else:
            with open(target, "w") as handle:
                handle.write(text + "\n")

    @staticmethod
    def _rss(clusters: list[WorkerCluster]) -> int:
        return sum(benchmark.worker_rss_kib(descendant_pids(cluster.pid)) for cluster in clusters)

    def _check(self, report: Any) -> None:
        from sagas.consistency import find_violations

        violations = find_violations()
        report.consistency_violations = len(violations)
        for violation in violations[:20]:
            self.stderr.write(f"violation: {violation}")

    def _print(self, report: Any) -> None:
        rows = [
            (
                "sagas",
                f"{report.sagas} ({report.style}, {report.backend}, {report.broker} broker, "
                f"{report.workers} workers, fail rate {report.fail_rate})",
            ),
            ("throughput", f"{report.sagas_per_second} sagas/s"),
            ("enqueue rate", f"{report.enqueue_per_second} sagas/s"),
            ("end-to-end", f"p50 {report.e2e_p50_ms} ms  p95 {report.e2e_p95_ms} ms  p99 {report.e2e_p99_ms} ms"),
            ("execution", f"p50 {report.exec_p50_ms} ms  p99 {report.exec_p99_ms} ms"),
            ("commits/saga", "n/a (PostgreSQL only)" if report.commits_per_saga is None else report.commits_per_saga),
            ("queries/saga", f"{report.queries_per_saga} ({report.queries_source})"),
            ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items()))),
        ]
        if report.cancel_saga is not None:
            rows += [
                (
                    "cancellations",
                    f"{report.cancel_sagas} {report.cancel_saga} sagas for {report.cancel_rate} of the completed "
                    f"({report.cancel_refused} refused)",
                ),
                ("  throughput", f"{report.cancel_per_second} sagas/s"),
                ("  end-to-end", f"p50 {report.cancel_e2e_p50_ms} ms  p95 {report.cancel_e2e_p95_ms} ms"),
                ("  execution", f"p50 {report.cancel_exec_p50_ms} ms"),
                (
                    "  commits/saga",
                    "n/a (PostgreSQL only)"
                    if report.cancel_commits_per_saga is None
                    else report.cancel_commits_per_saga,
                ),
                ("  queries/saga", f"{report.cancel_queries_per_saga} ({report.cancel_queries_source})"),
                ("  outcomes", ", ".join(f"{k} {v}" for k, v in sorted(report.cancel_outcomes.items()))),
            ]
        if report.baseline_per_second is not None:
            rows.append(("baseline", f"{report.baseline_per_second} orders/s"))
            rows.append(("ratio", f"{report.ratio_to_baseline:.2f} of the baseline"))
        if report.worker_rss_start_kib is not None:
            rows.append(
                ("worker RSS", f"{report.worker_rss_start_kib} KiB at start, {report.worker_rss_end_kib} KiB at end")
            )
        if report.consistency_violations is not None:
            rows.append(
                (
                    "consistency",
                    "clean" if not report.consistency_violations else f"{report.consistency_violations} violation(s)",
                )
            )
        for label, value in rows:
            self.stdout.write(f"{label:<14} {value}")
