"""Is the worker cluster taking work? The liveness rule behind `worker_health`, /healthz, /metrics and run_workers.

Progress is measured against the backlog. Queue rows claimable (their lock time passed) for
longer than the window are the backlog; a row a worker holds has its lock pushed into the
future, so it does not count. With a backlog, the workers must have finished at least as
many tasks in the window as there are workers (or as tasks waiting, if fewer): one
straggler's finish, such as a frozen worker that resumed, does not make a cluster whose other
workers took nothing healthy.

The rule is applied twice: to the whole deployment, with the saga steps finished in the
step log; and to each cluster started by run_workers, with the tasks it says it finished
in its heartbeat (sagas.workers.heartbeat), so one stalled cluster beside a working one shows.
"""

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.models import OrmQ

from sagas.models import Direction, SagaStepLog
from sagas.workers import heartbeat as cluster_state
from sagas.workers.heartbeat import ClusterHeartbeat

DEFAULT_STALL_SECONDS = 120
# Recent step log rows are found by primary key (indexed) rather than by finish time (not
# indexed): a step finishing now was logged among the latest rows.
_RECENT_LOG_ROWS = 5000


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    reason: str
    waiting_tasks: int
    oldest_waiting_since: datetime | None
    last_step_finished_at: datetime | None
    stall_seconds: int
    steps_finished_in_window: int = 0
    clusters: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Backlog:
    """Queue rows claimable for longer than the window (`waiting`), and claimable at all (`ready`)."""

    waiting: int
    oldest: datetime | None
    ready: int
    window: int


def backlog(stall_seconds: int, now: datetime | None = None) -> Backlog:
    """The backlog of the ORM queue on `default`."""
    now = now or timezone.now()
    rows = OrmQ.objects.using("default").aggregate(
        waiting=Count("id", filter=Q(lock__lt=now - timedelta(seconds=stall_seconds))),
        ready=Count("id", filter=Q(lock__lte=now)),
        oldest=Min("lock", filter=Q(lock__lt=now - timedelta(seconds=stall_seconds))),
    )
    return Backlog(rows["waiting"], rows["oldest"], rows["ready"], stall_seconds)


def finishes_needed(waiting: int, workers: int) -> int:
    """Tasks the workers must have finished in the window for a backlog of `waiting` to count as moving."""
    return max(1, min(waiting, workers))


@dataclass(frozen=True)
class ClusterVerdict:
    name: str
    stalled: bool
    reason: str
    # Seconds since this cluster last finished a task (or started), while tasks were ready; else 0.
    seconds_without_progress: float
    restarts: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cluster_verdict(beat: ClusterHeartbeat, queue: Backlog, now: float | None = None) -> ClusterVerdict:
    """Whether one cluster started by run_workers is stalled, by the tasks it finished against the backlog."""
    now = now or time.time()
    since = now - max(beat.last_finish_at or 0.0, beat.started_at)
    idle_with_work = round(since, 1) if queue.ready else 0.0

    def verdict(stalled: bool, reason: str) -> ClusterVerdict:
        return ClusterVerdict(beat.name, stalled, reason, idle_with_work, beat.restarts)

    if not queue.waiting:
        return verdict(False, _("no task has waited more than %(window)ss to be taken") % {"window": queue.window})
    if now - beat.started_at < queue.window:
        return verdict(
            False,
            _("started %(ago)ss ago, less than the %(window)ss window")
            % {"ago": f"{now - beat.started_at:.0f}", "window": queue.window},
        )
    needed = finishes_needed(queue.waiting, len(beat.workers))
    if beat.finished_in_window >= needed:
        return verdict(
            False,
            _("busy: finished %(finished)d task(s) in the last %(window)ss")
            % {"finished": beat.finished_in_window, "window": queue.window},
        )
    return verdict(
        True,
        _(
            "%(waiting)d task(s) ready for more than %(window)ss and this cluster finished %(finished)d in that "
            "window (at least %(needed)d needed); last finish %(since)ss ago"
        )
        % {
            "waiting": queue.waiting,
            "window": queue.window,
            "finished": beat.finished_in_window,
            "needed": needed,
            "since": f"{since:.0f}",
        },
    )


def _recent_steps() -> Any:
    newest = SagaStepLog.objects.aggregate(pk=Max("pk"))["pk"]
    if newest is None:
        return SagaStepLog.objects.none()
    return SagaStepLog.objects.filter(pk__gt=newest - _RECENT_LOG_ROWS, finished_at__isnull=False).exclude(
        direction=Direction.OPERATOR
    )


def steps_finished_since(cutoff: datetime) -> int:
    """Saga steps workers finished since `cutoff` (among the recent step log rows)."""
    return _recent_steps().filter(finished_at__gte=cutoff).count()


def last_step_finished_at() -> datetime | None:
    """When a worker last finished a step (or wrote a note while running a saga), if recently."""
    newest = SagaStepLog.objects.aggregate(pk=Max("pk"))["pk"]
    if newest is None:
        return None
    return (
        SagaStepLog.objects.filter(pk__gt=newest - _RECENT_LOG_ROWS, finished_at__isnull=False)
        .exclude(direction=Direction.OPERATOR)
        .aggregate(last=Max("finished_at"))["last"]
    )


def stall_seconds_setting() -> int:
    """The window the /healthz endpoint uses too (HEALTH_QUEUE_STALL_SECONDS), 120 s by default."""
    return getattr(settings, "HEALTH_QUEUE_STALL_SECONDS", DEFAULT_STALL_SECONDS)


def _cluster_figures() -> tuple[list[ClusterHeartbeat], int]:
    """Live clusters with a heartbeat, and the workers of every live cluster (the settings' count if none is seen)."""
    from sagas.ops.healthz import live_clusters

    beats, _plain = cluster_state.live_clusters()
    workers = sum(cluster["workers"] for cluster in live_clusters())
    return beats, workers or settings.Q_CLUSTER.get("workers", 1)


def worker_health(stall_seconds: int | None = None, now: datetime | None = None) -> HealthReport:
    """Healthy unless tasks wait untaken for `stall_seconds` while too few tasks finish (deployment or one cluster)."""
    stall_seconds = stall_seconds or stall_seconds_setting()
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=stall_seconds)
    queue = backlog(stall_seconds, now)
    last_finish = last_step_finished_at()
    finished = steps_finished_since(cutoff) if queue.waiting else 0
    beats, workers = _cluster_figures()
    verdicts = [cluster_verdict(beat, queue, now.timestamp()) for beat in beats]
    report = {
        "waiting_tasks": queue.waiting,
        "oldest_waiting_since": queue.oldest,
        "last_step_finished_at": last_finish,
        "stall_seconds": stall_seconds,
        "steps_finished_in_window": finished,
        "clusters": [verdict.as_dict() for verdict in verdicts],
    }
    if not queue.waiting:
        return HealthReport(
            True, _("no task has waited more than %(window)ss to be taken") % {"window": stall_seconds}, **report
        )
    age = int((now - queue.oldest).total_seconds())
    since = (
        _("%(seconds)ds ago") % {"seconds": int((now - last_finish).total_seconds())}
        if last_finish
        else _("never (in recent history)")
    )
    needed = finishes_needed(queue.waiting, workers)
    stalled = [verdict for verdict in verdicts if verdict.stalled]
    if finished >= needed and not stalled:
        return HealthReport(
            True,
            _(
                "busy, not stalled: %(waiting)d task(s) waiting more than %(window)ss (oldest %(age)ss), "
                "but %(finished)d step(s) finished in that window (last %(since)s)"
            )
            % {"waiting": queue.waiting, "window": stall_seconds, "age": age, "finished": finished, "since": since},
            **report,
        )
    if stalled:
        reason = "; ".join(
            _("cluster %(name)s: %(reason)s") % {"name": verdict.name, "reason": verdict.reason} for verdict in stalled
        )
        return HealthReport(False, _("%(reason)s; restart the cluster") % {"reason": reason}, **report)
    if not finished:
        progress = _("no step finished in that window (last finished %(since)s)") % {"since": since}
    else:
        progress = _("only %(finished)d step(s) finished in that window for %(workers)d worker(s) (last %(since)s)") % {
            "finished": finished,
            "workers": workers,
            "since": since,
        }
    return HealthReport(
        False,
        _(
            "%(waiting)d task(s) claimable for more than %(window)ss (oldest %(age)ss) and %(progress)s; "
            "restart the cluster"
        )
        % {"waiting": queue.waiting, "window": stall_seconds, "age": age, "progress": progress},
        **report,
    )
