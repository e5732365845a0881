"""Prometheus metrics read from the database at scrape time.

Web and workers are separate processes on separate hosts, so counters kept in the web
process's memory would never see the workers' work. The figures are derived instead from
the state every process shares, with a handful of indexed queries per scrape:

- exact counts by status (sagas started, finished by outcome, in progress by status) from
  `sagas.ops.totals`, whose cost follows the recent and unfinished sagas, not the table;
- one aggregate over the in-progress sagas gives the paused and stuck counts;
- one grouped query over the newest step log rows (a primary-key range, so its cost is
  bounded by METRICS_STEP_SAMPLE_ROWS, not by the table) gives the step duration histogram;
- one aggregate over django-q2's queue table gives the queue depth;
- the cluster status django-q2 publishes to the shared cache gives the live workers.
"""

import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    Q,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from prometheus_client.core import CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from sagas import selectors
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.ops import healthz
from sagas.ops.totals import status_counts

# Upper bounds in seconds: from a fast local call to a step near its timeout.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# Final outcomes only: a saga never leaves them, so their counts are true counters. FAILED
# is not final (an operator may retry or compensate), so it is a gauge.
_OUTCOMES = {SagaStatus.COMPLETED: "completed", SagaStatus.COMPENSATED: "compensated"}
_TIMED_DIRECTIONS = (Direction.FORWARD, Direction.COMPENSATION)

logger = logging.getLogger("sagas.metrics")


def attention_figures(now: Any) -> dict[str, int]:
    """Paused and stuck sagas among those in progress, and FAILED sagas nobody resolved.

    Stuck is the admin's definition (selectors.stuck_condition) less the paused sagas.
    Both queries stay within one status range of the status index.
    """
    in_progress = SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).aggregate(
        paused_count=Count("pk", filter=Q(paused=True)),
        # Paused sagas have a gauge of their own, so an alert on stuck never fires for a deliberate pause.
        stuck_count=Count("pk", filter=Q(paused=False) & selectors.stuck_condition(now)),
    )
    figures = {"paused": in_progress["paused_count"], "stuck": in_progress["stuck_count"]}
    figures["failed_unresolved"] = SagaInstance.objects.filter(
        status=SagaStatus.FAILED, resolved_at__isnull=True
    ).count()
    return figures


def definition_version_unknown_count() -> int:
    """Sagas in progress that wait for a worker with their definition version (see runner.UNKNOWN_VERSION_NOTE).

    The status index narrows the search to the sagas in progress, a small set.
    """
    from sagas.engine.runner import UNKNOWN_VERSION_NOTE

    return SagaInstance.objects.filter(status__in=ACTIVE_STATUSES, last_error__startswith=UNKNOWN_VERSION_NOTE).count()


def recent_step_rows(now: Any, window_seconds: int, sample_rows: int) -> list[dict[str, Any]]:
    """Step attempts that finished in the window, grouped by step, direction, status and bucket.

    `bucket` is the index of the first DURATION_BUCKETS bound the duration fits under (the
    number of bounds when none). Only the newest `sample_rows` step log rows are read,
    found by primary key.
    """
    newest = SagaStepLog.objects.aggregate(top=Max("pk"))["top"]
    if newest is None:
        return []
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    bucket = Case(
        *(
            When(duration__lte=timedelta(seconds=bound), then=Value(index))
            for index, bound in enumerate(DURATION_BUCKETS)
        ),
        default=Value(len(DURATION_BUCKETS)),
        output_field=IntegerField(),
    )
    return list(
        SagaStepLog.objects.filter(
            pk__gt=newest - sample_rows,
            direction__in=_TIMED_DIRECTIONS,
            finished_at__gte=now - timedelta(seconds=window_seconds),
        )
        .exclude(status__in=[StepStatus.RUNNING, StepStatus.RECORDED])
        .annotate(duration=duration)
        .annotate(bucket=bucket)
        .order_by()
        .values("step_name", "direction", "status", "bucket")
        .annotate(n=Count("pk"), total=Sum("duration"))
    )


def queue_figures(now: Any) -> dict[str, dict[str, Any]]:
    """Per queue: tasks ready to run, tasks not yet due (or held by a worker), the oldest ready.

    With a broker other than the ORM only the number of waiting tasks is known.
    """
    broker = get_broker()
    if not Conf.ORM:
        return {broker.list_key: {"ready": broker.queue_size() or 0}}
    # The configured queue is always reported, so an empty queue reads 0 rather than nothing.
    figures: dict[str, dict[str, Any]] = {broker.list_key: {"ready": 0, "delayed": 0, "oldest_ready_seconds": 0.0}}
    rows = (
        OrmQ.objects.using("default")
        .order_by()
        .values("key")
        .annotate(
            ready=Count("pk", filter=Q(lock__lte=now)),
            delayed=Count("pk", filter=Q(lock__gt=now)),
            oldest_ready=Min("lock", filter=Q(lock__lte=now)),
        )
    )
    for row in rows:
        oldest = row["oldest_ready"]
        figures[row["key"]] = {
            "ready": row["ready"],
            "delayed": row["delayed"],
            "oldest_ready_seconds": (now - oldest).total_seconds() if oldest else 0.0,
        }
    return figures


def _step_histograms(rows: list[dict[str, Any]]) -> Iterator[Any]:
    histogram = GaugeHistogramMetricFamily(
        "saga_step_duration_seconds",
        "Duration of step attempts that finished in the recent window (METRICS_STEP_WINDOW_SECONDS).",
        labels=["step", "direction"],
    )
    outcomes = GaugeMetricFamily(
        "saga_step_attempts_recent",
        "Step attempts that finished in the recent window, by outcome.",
        labels=["step", "direction", "outcome"],
    )
    # One slot per bound plus one for durations above the last bound.
    merged: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"n": 0, "total": 0.0, "buckets": [0] * (len(DURATION_BUCKETS) + 1)}
    )
    attempts: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in rows:
        key = (row["step_name"], row["direction"].lower())
        entry = merged[key]
        entry["n"] += row["n"]
        entry["total"] += row["total"].total_seconds() if row["total"] is not None else 0.0
        entry["buckets"][row["bucket"]] += row["n"]
        attempts[(*key, row["status"].lower())] += row["n"]
    for labels, count in sorted(attempts.items()):
        outcomes.add_metric(list(labels), count)
    for (step, direction), entry in sorted(merged.items()):
        cumulative = list(itertools.accumulate(entry["buckets"]))
        buckets = [(_bound(bound), count) for bound, count in zip(DURATION_BUCKETS, cumulative, strict=False)]
        buckets.append(("+Inf", entry["n"]))
        histogram.add_metric([step, direction], buckets, entry["total"])
    yield histogram
    yield outcomes


def _bound(value: float) -> str:
    return repr(float(value))


class SagaCollector(Collector):
    """Collects every saga metric from the database each time it is scraped."""

    def collect(self) -> Iterator[Any]:
        started = time.perf_counter()
        now = timezone.now()
        counts = status_counts(now)

        total = CounterMetricFamily("sagas_started", "Sagas ever started (every saga row).")
        total.add_metric([], sum(counts.values()))
        yield total

        finished = CounterMetricFamily("sagas_finished", "Sagas that reached a final outcome.", labels=["outcome"])
        for status, outcome in _OUTCOMES.items():
            finished.add_metric([outcome], counts[status])
        yield finished

        active = GaugeMetricFamily("sagas_active", "Sagas in progress, by status.", labels=["status"])
        for status in ACTIVE_STATUSES:
            active.add_metric([status.value], counts[status])
        yield active

        yield GaugeMetricFamily(
            "sagas_failed", "Sagas stopped as FAILED, waiting for an operator.", value=counts[SagaStatus.FAILED]
        )
        extra = attention_figures(now)
        yield GaugeMetricFamily("sagas_paused", "Sagas in progress that an operator paused.", value=extra["paused"])
        yield GaugeMetricFamily(
            "sagas_stuck",
            "Sagas in progress, not paused, with an expired lease or past deadline.",
            value=extra["stuck"],
        )
        yield GaugeMetricFamily(
            "sagas_failed_unresolved", "FAILED sagas no one has marked resolved.", value=extra["failed_unresolved"]
        )
        yield GaugeMetricFamily(
            "saga_definition_version_unknown",
            "Sagas in progress handed back by a worker that lacks their definition version (deploy workers first).",
            value=definition_version_unknown_count(),
        )

        yield from _step_histograms(
            recent_step_rows(now, settings.METRICS_STEP_WINDOW_SECONDS, settings.METRICS_STEP_SAMPLE_ROWS)
        )

        depth = GaugeMetricFamily("saga_queue_tasks", "Tasks in the worker queue.", labels=["queue", "state"])
        oldest = GaugeMetricFamily(
            "saga_queue_oldest_ready_seconds", "How long the oldest ready task has waited.", labels=["queue"]
        )
        for queue, figures in sorted(queue_figures(now).items()):
            depth.add_metric([queue, "ready"], figures["ready"])
            if "delayed" in figures:
                depth.add_metric([queue, "delayed"], figures["delayed"])
                oldest.add_metric([queue], figures["oldest_ready_seconds"])
        yield depth
        yield oldest

        try:
            clusters = healthz.live_clusters()
        except DatabaseError as error:
            # Without the cluster cache table the other figures are still worth a scrape.
            logger.warning("cluster status unreadable, worker metrics left out: %s", error)
        else:
            yield GaugeMetricFamily("saga_worker_clusters", "Worker clusters alive.", value=len(clusters))
            yield GaugeMetricFamily(
                "saga_worker_processes",
                "Worker processes in live clusters.",
                value=sum(cluster["workers"] for cluster in clusters),
            )
            yield from _supervised_cluster_metrics()

        yield GaugeMetricFamily(
            "saga_metrics_scrape_seconds",
            "Time this scrape spent reading the database.",
            value=time.perf_counter() - started,
        )


def _supervised_cluster_metrics() -> Iterator[Any]:
    """Per cluster started by run_workers: its restarts, and how long it has finished nothing while work was ready.

    The same rule as worker_health and run_workers (sagas.ops.health.cluster_verdict).
    """
    from sagas.ops.health import backlog, cluster_verdict
    from sagas.workers import heartbeat as cluster_state

    beats, _plain = cluster_state.live_clusters()
    queue = backlog(settings.HEALTH_QUEUE_STALL_SECONDS)
    restarts = CounterMetricFamily(
        "saga_worker_restarts", "Restarts of the worker cluster by its run_workers.", labels=["cluster"]
    )
    idle = GaugeMetricFamily(
        "saga_worker_seconds_without_progress",
        "Seconds since the cluster last finished a task while tasks were ready (0 with none ready).",
        labels=["cluster"],
    )
    stalled = GaugeMetricFamily(
        "saga_worker_stalled", "1 if the cluster is stalled against the backlog.", labels=["cluster"]
    )
    for beat in beats:
        verdict = cluster_verdict(beat, queue)
        label = beat.supervisor or beat.name
        restarts.add_metric([label], beat.restarts)
        idle.add_metric([label], verdict.seconds_without_progress)
        stalled.add_metric([label], int(verdict.stalled))
    yield restarts
    yield idle
    yield stalled


def render_metrics() -> bytes:
    """The current metrics in Prometheus text format."""
    from prometheus_client import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SagaCollector())
    return generate_latest(registry)
