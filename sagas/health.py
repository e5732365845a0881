"""Is the worker cluster taking work? The liveness rule behind `manage.py worker_health`.

The rule (see DJANGO_Q2_NOTES, "liveness probe"): the cluster is stalled when queue rows
have been claimable (their lock time passed) for longer than the window and no saga step
finished within it. A row a worker holds has its lock pushed into the future, so it does not
count; a backlog that moves has steps finishing, so it does not count either.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone
from django_q.models import OrmQ

from sagas.models import Direction, SagaStepLog

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def worker_health(stall_seconds: int | None = None, now: datetime | None = None) -> HealthReport:
    """Healthy unless tasks wait untaken for `stall_seconds` while no step finishes."""
    stall_seconds = stall_seconds or stall_seconds_setting()
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=stall_seconds)
    waiting = OrmQ.objects.using("default").filter(lock__lt=cutoff).aggregate(n=Count("id"), oldest=Min("lock"))
    last_finish = last_step_finished_at()
    report = {
        "waiting_tasks": waiting["n"],
        "oldest_waiting_since": waiting["oldest"],
        "last_step_finished_at": last_finish,
        "stall_seconds": stall_seconds,
    }
    if not waiting["n"]:
        return HealthReport(True, f"no task has waited more than {stall_seconds}s to be taken", **report)
    age = int((now - waiting["oldest"]).total_seconds())
    if last_finish is not None and last_finish >= cutoff:
        ago = int((now - last_finish).total_seconds())
        return HealthReport(
            True,
            f"busy, not stalled: {waiting['n']} task(s) waiting more than {stall_seconds}s "
            f"(oldest {age}s), but a step finished {ago}s ago",
            **report,
        )
    since = f"{int((now - last_finish).total_seconds())}s ago" if last_finish else "never (in recent history)"
    return HealthReport(
        False,
        f"{waiting['n']} task(s) claimable for more than {stall_seconds}s (oldest {age}s) "
        f"and no step finished in that window (last finished {since}); restart the cluster",
        **report,
    )
