"""Measuring the saga engine against a plain django-q2 baseline doing the same service calls.

The baseline task calls the participants in the saga's order, with the same idempotency keys
and the same compensations on a refusal, but keeps no saga state: no leases, step logs,
checkpoints or enqueues. The difference between the two is the engine's bookkeeping.

The engine knows no saga of its own: the app that owns a saga registers a `RunWorkload` (from
its AppConfig.ready()) that seeds the data, starts one saga, names the baseline task and says
when the baseline has settled.
"""

import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.models import Count, Min
from django_q.tasks import async_task

from sagas.engine.connections import service_aliases
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus, SagaStepLog


@dataclass(frozen=True)
class CancelWorkload:
    """How a workload cancels what one of its completed sagas did: by starting the saga that undoes it."""

    definition_name: str
    # Cancel one completed saga's work (given the saga's id); the cancelling saga's id, None if the business refused.
    start: Callable[[str], str | None]


@dataclass(frozen=True)
class RunWorkload:
    """The saga bench_sagas measures, registered by the app that owns it.

    `data` below is whatever `seed` returned: the engine only hands it back to the workload.
    """

    definition_name: str
    # Create what one run's sagas act on (sagas: how many, contended: aim them at few rows, run: a short tag).
    seed: Callable[[int, bool, str], Any]
    # The input of one saga; `fail_rate` is the share of inputs the business refuses.
    saga_input: Callable[[Any, random.Random, float], dict[str, Any]]
    # Start one saga of `style` with that input; returns the saga's id.
    start: Callable[[str, dict[str, Any]], str]
    # The dotted path of the plain task making the saga's participant calls (queued rows store it).
    baseline_task: str
    # The argument of one baseline task, from a saga input and a fresh business key.
    baseline_input: Callable[[dict[str, Any], str], dict[str, Any]]
    # How many of these business keys the baseline has settled, either way.
    settled: Callable[[list[str]], int]
    # What --cancel-rate runs; None when the saga's work cannot be cancelled.
    cancel: CancelWorkload | None = None


_workloads: dict[str, RunWorkload] = {}


def register_run_workload(workload: RunWorkload) -> None:
    """Make `workload` the one bench_sagas runs for its saga definition (call from the owning app's ready())."""
    _workloads[workload.definition_name] = workload


def run_workload(definition_name: str | None = None) -> RunWorkload:
    """The workload registered for `definition_name`; without a name, the only one registered.

    LookupError when there is none, or when several are registered and no name says which.
    """
    if definition_name is not None:
        try:
            return _workloads[definition_name]
        except KeyError:
            raise LookupError(f"No app registered a bench workload for the saga {definition_name!r}.") from None
    if len(_workloads) != 1:
        registered = ", ".join(sorted(_workloads)) or "none"
        raise LookupError(f"Name the saga to measure: one bench workload expected, registered: {registered}.")
    return next(iter(_workloads.values()))


@dataclass
class BenchData:
    """One run's seeded data: the workload's own, and the tag its baseline tasks are grouped under."""

    workload: RunWorkload
    run: str
    seeded: Any


def prepare_data(workload: RunWorkload, sagas: int, contended: bool, run: str | None = None) -> BenchData:
    """What one run's sagas act on, spread so rows are not contended unless asked."""
    run = run or uuid.uuid4().hex[:6]
    return BenchData(workload, run, workload.seed(sagas, contended, run))


def saga_input(data: BenchData, rng: random.Random, fail_rate: float) -> dict[str, Any]:
    return data.workload.saga_input(data.seeded, rng, fail_rate)


def enqueue_baseline(data: BenchData, argument: dict[str, Any], key: str) -> None:
    async_task(data.workload.baseline_task, argument, group=f"bench-{data.run}", task_name=f"baseline-{key[:8]}")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r{label:<12} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()
    if done >= total:
        sys.stderr.write("\n")


def worker_rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def pg_commits() -> int | None:
    """Committed transactions in the database so far (PostgreSQL only)."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


@dataclass
class RoundResult:
    kind: str
    count: int
    seconds: float
    enqueue_seconds: float


@dataclass
class BenchReport:
    sagas: int
    style: str
    workers: int
    broker: str
    backend: str
    fail_rate: float
    contended: bool
    sagas_per_second: float = 0.0
    enqueue_per_second: float = 0.0
    e2e_p50_ms: float = 0.0
    e2e_p95_ms: float = 0.0
    e2e_p99_ms: float = 0.0
    exec_p50_ms: float = 0.0
    exec_p99_ms: float = 0.0
    commits_per_saga: float | None = None
    queries_per_saga: float | None = None
    queries_source: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)
    baseline_per_second: float | None = None
    ratio_to_baseline: float | None = None
    cancel_rate: float = 0.0
    cancel_saga: str | None = None
    cancel_sagas: int = 0
    cancel_refused: int = 0
    cancel_per_second: float | None = None
    cancel_e2e_p50_ms: float | None = None
    cancel_e2e_p95_ms: float | None = None
    cancel_exec_p50_ms: float | None = None
    cancel_commits_per_saga: float | None = None
    cancel_queries_per_saga: float | None = None
    cancel_queries_source: str = ""
    cancel_outcomes: dict[str, int] = field(default_factory=dict)
    worker_rss_start_kib: int | None = None
    worker_rss_end_kib: int | None = None
    consistency_violations: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def saga_latencies(saga_ids: list[str]) -> tuple[list[float], list[float]]:
    """End-to-end (creation to terminal) and execution (first step to terminal) latencies in ms."""
    e2e, execution = [], []
    first_step = dict(
        SagaStepLog.objects.filter(saga_id__in=saga_ids)
        .values("saga_id")
        .annotate(first=Min("started_at"))
        .values_list("saga_id", "first")
    )
    for saga_id, created, finished in SagaInstance.objects.filter(pk__in=saga_ids).values_list(
        "pk", "created_at", "finished_at"
    ):
        if finished is None:
            continue
        e2e.append((finished - created).total_seconds() * 1000)
        started = first_step.get(saga_id)
        if started is not None:
            execution.append((finished - started).total_seconds() * 1000)
    return e2e, execution


def outcome_counts(saga_ids: list[str]) -> dict[str, int]:
    rows = SagaInstance.objects.filter(pk__in=saga_ids).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def wait_for_sagas(saga_ids: list[str], timeout: float, label: str = "sagas") -> None:
    deadline = time.monotonic() + timeout
    total = len(saga_ids)
    while True:
        active = SagaInstance.objects.filter(pk__in=saga_ids, status__in=ACTIVE_STATUSES).count()
        progress(total - active, total, label)
        if active == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{active} of {total} sagas still running after {timeout:.0f}s")
        time.sleep(0.2)


def wait_for_settled(data: BenchData, keys: list[str], timeout: float, label: str = "baseline") -> None:
    """Wait until the baseline has settled every business key, either way (works with any broker)."""
    deadline = time.monotonic() + timeout
    total = len(keys)
    while True:
        settled = data.workload.settled(keys)
        progress(settled, total, label)
        if settled >= total:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{total - settled} baseline tasks unsettled after {timeout:.0f}s")
        time.sleep(0.05)


def place_sagas(
    data: BenchData, count: int, style: str, fail_rate: float, rng: random.Random
) -> tuple[list[str], float]:
    ids = []
    started = time.monotonic()
    for number in range(count):
        chosen = style if style != "mixed" else ("orchestration" if number % 2 == 0 else "choreography")
        ids.append(data.workload.start(chosen, saga_input(data, rng, fail_rate)))
    return ids, time.monotonic() - started


def place_one_by_one(
    data: BenchData, count: int, style: str, fail_rate: float, rng: random.Random, timeout: float
) -> tuple[list[str], float]:
    """Each saga started only when the one before has finished, so each saga has the workers to itself."""
    ids: list[str] = []
    placing = 0.0
    for number in range(count):
        started = time.monotonic()
        placed, seconds = place_sagas(data, 1, style, fail_rate, rng)
        placing += seconds
        deadline = started + timeout
        while SagaInstance.objects.filter(pk=placed[0], status__in=ACTIVE_STATUSES).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"saga {placed[0]} still running after {timeout:.0f}s")
            time.sleep(0.01)
        ids.extend(placed)
        progress(number + 1, count, "one by one")
    return ids, placing


def run_baseline(data: BenchData, count: int, fail_rate: float, rng: random.Random, timeout: float) -> RoundResult:
    started = time.monotonic()
    keys = []
    for _ in range(count):
        key = str(uuid.uuid4())
        keys.append(key)
        enqueue_baseline(data, data.workload.baseline_input(saga_input(data, rng, fail_rate), key), key)
    enqueued = time.monotonic() - started
    wait_for_settled(data, keys, timeout)
    return RoundResult("baseline", count, time.monotonic() - started, enqueued)


def pg_statement_calls() -> int | None:
    """Statements the database has run so far, when PostgreSQL loads pg_stat_statements; else None."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    try:
        with transaction.atomic(using="default"), connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            return int(cursor.fetchone()[0])
    except DatabaseError:
        return None


def queries_per_saga(data: BenchData, style: str, samples: int = 20) -> tuple[float | None, str]:
    """Queries on every alias per saga, counted in this process over a small sample run inline."""
    from django.conf import settings

    if settings.Q_BROKER != "orm":
        return None, "sampled with the ORM broker only"
    return round(mean_queries_per_saga(data, style, samples), 1), f"counted over {samples} sagas run inline"


def queries_per_cancel(data: BenchData, samples: int = 10) -> tuple[float | None, str]:
    """Queries on every alias per cancelling saga, counted in this process over a small sample run inline."""
    from django.conf import settings

    if settings.Q_BROKER != "orm":
        return None, "sampled with the ORM broker only"
    mean = mean_queries_per_cancel(data, samples)
    if mean is None:
        return None, "every sampled cancel was refused"
    return round(mean, 1), f"counted over {samples} cancellations run inline"


def mean_queries_per_saga(data: BenchData, style: str, samples: int = 20) -> float:
    """Queries on every alias per saga, counted in this process over a small in-process sample.

    The queue rows are taken and acknowledged through the cluster's broker, as a worker takes
    them (sagas.testing.drain.work), so the count has every statement of a worker's path.
    """
    from django.test.utils import CaptureQueriesContext

    from sagas.testing.drain import work

    aliases = ("default", *service_aliases())
    contexts = [CaptureQueriesContext(connections[alias]) for alias in aliases]
    rng = random.Random(1)
    for context in contexts:
        context.__enter__()
    try:
        for _ in range(samples):
            data.workload.start("orchestration" if style == "mixed" else style, saga_input(data, rng, 0))
        work()
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    return sum(len(context.captured_queries) for context in contexts) / samples


def cancel_workload(data: BenchData) -> CancelWorkload:
    """The workload's cancellation; LookupError when its saga's work cannot be cancelled."""
    if data.workload.cancel is None:
        raise LookupError(f"The saga {data.workload.definition_name!r} registers no cancellation to measure.")
    return data.workload.cancel


def completed_share(saga_ids: list[str], rate: float, rng: random.Random) -> list[str]:
    """`rate` of the sagas among `saga_ids` that completed, chosen at random."""
    completed = sorted(
        str(pk)
        for pk in SagaInstance.objects.filter(pk__in=saga_ids, status=SagaStatus.COMPLETED).values_list("pk", flat=True)
    )
    return rng.sample(completed, round(len(completed) * rate))


def start_cancels(data: BenchData, saga_ids: list[str]) -> tuple[list[str], int, float]:
    """Cancel each saga's work: the cancelling sagas' ids, how many cancels were refused, and the seconds it took."""
    cancel = cancel_workload(data)
    started = time.monotonic()
    ids = [cancel.start(saga_id) for saga_id in saga_ids]
    placed = [saga_id for saga_id in ids if saga_id is not None]
    return placed, len(ids) - len(placed), time.monotonic() - started


def mean_queries_per_cancel(data: BenchData, samples: int = 10) -> float | None:
    """Queries on every alias per cancelling saga, counted in this process: sagas run inline, then cancelled.

    The cancellations' queue rows go through the cluster's broker, as in mean_queries_per_saga.
    """
    from django.test.utils import CaptureQueriesContext

    from sagas.testing.drain import drain, work

    rng = random.Random(2)
    placed = [data.workload.start("orchestration", saga_input(data, rng, 0)) for _ in range(samples)]
    drain()
    aliases = ("default", *service_aliases())
    contexts = [CaptureQueriesContext(connections[alias]) for alias in aliases]
    for context in contexts:
        context.__enter__()
    try:
        cancels, _, _ = start_cancels(data, completed_share(placed, 1.0, rng))
        work()
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    if not cancels:
        return None
    return sum(len(context.captured_queries) for context in contexts) / len(cancels)


@dataclass
class CancelRounds:
    """The cancellations of a run, each round's measured on its own after the round's sagas have finished."""

    rate: float
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    ids: list[str] = field(default_factory=list)
    refused: int = 0
    seconds: float = 0.0
    commits: int | None = 0
    statements: int | None = 0

    def run(self, data: BenchData, saga_ids: list[str], timeout: float, label: str) -> None:
        """Cancel `rate` of the completed sagas among `saga_ids` and wait until every cancellation has finished."""
        commits_before, calls_before = pg_commits(), pg_statement_calls()
        started = time.monotonic()
        ids, refused, _ = start_cancels(data, completed_share(saga_ids, self.rate, self.rng))
        wait_for_sagas(ids, timeout, label=label)
        self.seconds += time.monotonic() - started
        self.ids += ids
        self.refused += refused
        self.commits = _added(self.commits, commits_before, pg_commits())
        self.statements = _added(self.statements, calls_before, pg_statement_calls())

    def summarise(self, report: BenchReport) -> None:
        e2e, execution = saga_latencies(self.ids)
        report.cancel_sagas = len(self.ids)
        report.cancel_refused = self.refused
        report.cancel_per_second = round(len(self.ids) / self.seconds, 1) if self.seconds else 0.0
        report.cancel_e2e_p50_ms = round(statistics.median(e2e), 1) if e2e else 0.0
        report.cancel_e2e_p95_ms = round(percentile(e2e, 95), 1)
        report.cancel_exec_p50_ms = round(statistics.median(execution), 1) if execution else 0.0
        report.cancel_outcomes = outcome_counts(self.ids)
        if self.ids and self.commits is not None:
            report.cancel_commits_per_saga = round(self.commits / len(self.ids), 1)
        if self.ids and self.statements:
            report.cancel_queries_per_saga = round(self.statements / len(self.ids), 1)
            report.cancel_queries_source = "pg_stat_statements, whole run"


def _added(total: int | None, before: int | None, after: int | None) -> int | None:
    """`total` plus what a counter rose by; None as soon as the counter could not be read."""
    if total is None or before is None or after is None:
        return None
    return total + after - before


def summarise(report: BenchReport, saga_ids: list[str], elapsed: float, enqueue_seconds: float) -> None:
    e2e, execution = saga_latencies(saga_ids)
    report.sagas_per_second = round(len(saga_ids) / elapsed, 1) if elapsed else 0.0
    report.enqueue_per_second = round(len(saga_ids) / enqueue_seconds, 1) if enqueue_seconds else 0.0
    report.e2e_p50_ms = round(statistics.median(e2e), 1) if e2e else 0.0
    report.e2e_p95_ms = round(percentile(e2e, 95), 1)
    report.e2e_p99_ms = round(percentile(e2e, 99), 1)
    report.exec_p50_ms = round(statistics.median(execution), 1) if execution else 0.0
    report.exec_p99_ms = round(percentile(execution, 99), 1)
    report.outcomes = outcome_counts(saga_ids)
