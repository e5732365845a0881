"""Benchmark the saga engine: place orders through a worker cluster and print what it took.

Runs the workload the saga's app registered with sagas.bench.run.register_run_workload (here the
order saga's). Sets up its own customers and products, starts its own cluster (or uses a running
one with --external), places --sagas orders, waits for every saga to finish, checks the invariants, and
prints throughput, latency percentiles, commits and queries per saga and the outcomes. With
--baseline it alternates rounds of sagas and of plain django-q2 tasks doing the same service
calls, and prints the engine's throughput as a ratio of the baseline's.
"""

import json
import random
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from sagas.bench import run as benchmark
from sagas.management.arguments import decimal_number, whole_number
from sagas.testing.cluster import WorkerCluster, descendant_pids


class Command(BaseCommand):
    help = __doc__

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
        parser.add_argument("--style", choices=["orchestration", "choreography", "mixed"], default="orchestration")
        parser.add_argument(
            "--fail-rate",
            type=decimal_number(maximum=1),
            default=0.0,
            help="Share of orders refused for lack of funds.",
        )
        parser.add_argument("--contended", action="store_true", help="Aim every order at two products and customers.")
        parser.add_argument("--baseline", action="store_true", help="Alternate with plain django-q2 tasks.")
        parser.add_argument(
            "--rounds", type=whole_number(minimum=1), default=2, help="Alternating rounds with --baseline (default 2)."
        )
        parser.add_argument(
            "--timeout", type=decimal_number(), default=900, help="Seconds to wait for a round to finish."
        )
        parser.add_argument(
            "--json", metavar="PATH", help="Also write the figures as one JSON object ('-' for stdout)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
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
        except LookupError as error:
            raise CommandError(str(error)) from error
        data = benchmark.prepare_data(workload, count, options["contended"])
        report.queries_per_saga, report.queries_source = benchmark.queries_per_saga(data, options["style"])
        clusters: list[WorkerCluster] = []
        if not options["external"]:
            for _ in range(options["clusters"]):
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
            text = json.dumps(report.as_dict(), indent=2)
            if options["json"] == "-":
                self.stdout.write(text)
            else:
                with open(options["json"], "w") as handle:
                    handle.write(text + "\n")

    def _rounds(self, report: Any, data: Any, rng: random.Random, options: dict[str, Any]) -> None:
        rounds = max(options["rounds"], 1) if options["baseline"] else 1
        per_round = max(report.sagas // rounds, 1)
        saga_ids: list[str] = []
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
            if options["baseline"]:
                result = benchmark.run_baseline(data, per_round, options["fail_rate"], rng, options["timeout"])
                baseline_seconds += result.seconds
                baseline_count += result.count
        benchmark.summarise(report, saga_ids, saga_seconds, enqueue_seconds)
        if report.backend == "postgresql":
            report.commits_per_saga = round(commits / len(saga_ids), 1)
        if statements:
            report.queries_per_saga = round(statements / len(saga_ids), 1)
            report.queries_source = "pg_stat_statements, whole run"
        if options["baseline"] and baseline_seconds:
            report.baseline_per_second = round(baseline_count / baseline_seconds, 1)
            report.ratio_to_baseline = round(report.sagas_per_second / report.baseline_per_second, 3)

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
