"""Read-only queries on the saga engine's tables: stuck sagas, overview figures, timelines.

Each query is written to stay cheap at millions of sagas: filters lead with an indexed
column and aggregates look at a bounded time window, never at the whole history.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from sagas.admin.paginators import bounded_count
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.participant import customers

OUTCOME_STATUSES = (SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED)


def stuck_condition(now: datetime | None = None) -> Q:
    """A saga in progress that is not moving: its lease ran out or its deadline passed.

    A paused saga counts too once it is past its deadline: someone stopped it and it still
    waits for them. The `sagas_stuck` metric leaves paused sagas to `sagas_paused`.
    """
    now = now or timezone.now()
    return Q(status__in=ACTIVE_STATUSES) & (Q(lease_expires_at__lte=now) | Q(deadline_at__lte=now))


def sagas_stuck(now: datetime | None = None) -> QuerySet[SagaInstance]:
    """Sagas in progress whose lease expired or whose deadline passed, newest first."""
    return SagaInstance.objects.filter(stuck_condition(now)).order_by("-created_at")


def needs_attention_condition() -> Q:
    """A FAILED saga nobody has marked resolved yet."""
    return Q(status=SagaStatus.FAILED, resolved_at__isnull=True)


def saga_search_condition(term: str) -> Q:
    """Exact matches on saga id, business key, idempotency key or party (a customer by username), so indexes answer."""
    term = term.strip()
    condition = Q(idempotency_key=term) | Q(party__in=customers.customer_search_keys(term))
    try:
        as_uuid = uuid.UUID(term)
    except ValueError:
        return condition
    return condition | Q(pk=as_uuid) | Q(business_key=as_uuid)


def saga_for_business_key(business_key: uuid.UUID | str) -> SagaInstance | None:
    """The newest saga that acts on the business object with that key (an order, say), or None."""
    try:
        parsed = uuid.UUID(str(business_key))
    except ValueError:
        return None
    return SagaInstance.objects.filter(business_key=parsed).order_by("-created_at").first()


def saga_step_logs(saga: SagaInstance) -> list[SagaStepLog]:
    """Every participant call of the saga (forward, compensation, event), oldest first."""
    return list(saga.steps.exclude(direction__in=[Direction.OPERATOR, Direction.SYSTEM]).order_by("started_at", "id"))


def saga_audit_records(saga: SagaInstance) -> list[SagaStepLog]:
    """Operator actions and engine notes on the saga, oldest first."""
    return list(saga.steps.filter(direction__in=[Direction.OPERATOR, Direction.SYSTEM]).order_by("started_at", "id"))


# --- the overview page ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int
    estimated: bool


def saga_counts_by_status(exact_limit: int = 10_000) -> list[StatusCount]:
    """How many sagas are in each status right now, every status in order, zeros included.

    Each status is counted exactly up to `exact_limit` through the status index; a bigger
    number (finished sagas pile up by the million) is the planner's estimate.
    """
    counts = []
    for status in SagaStatus.values:
        count, estimated = bounded_count(SagaInstance.objects.filter(status=status), exact_limit)
        counts.append(StatusCount(status, count, estimated))
    return counts


@dataclass(frozen=True)
class HourBucket:
    start: datetime
    completed: int = 0
    compensated: int = 0
    failed: int = 0


def saga_outcomes_by_hour(hours: int = 24, now: datetime | None = None) -> list[HourBucket]:
    """Sagas that finished in each of the last `hours` hours, by outcome, oldest hour first.

    The hours are the viewer's (the active zone), as every other time on the console is: a zone
    half an hour off UTC counts from its own half hours.
    """
    zone = timezone.get_current_timezone()
    current = timezone.localtime(now or timezone.now(), zone).replace(minute=0, second=0, microsecond=0)
    starts = [current - timedelta(hours=back) for back in range(hours - 1, -1, -1)]
    rows = (
        SagaInstance.objects.filter(finished_at__gte=starts[0], status__in=OUTCOME_STATUSES)
        .order_by()
        .annotate(hour=TruncHour("finished_at", tzinfo=zone))
        .values("hour", "status")
        .annotate(n=Count("pk"))
    )
    tally: dict[datetime, dict[str, int]] = {start: {} for start in starts}
    for row in rows:
        bucket = tally.get(row["hour"])
        if bucket is not None:
            bucket[row["status"].lower()] = row["n"]
    return [HourBucket(start, **values) for start, values in tally.items()]


@dataclass(frozen=True)
class StepLatency:
    step_name: str
    direction: str
    calls: int
    slowest: timedelta
    average: timedelta


_DURATION = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
# The step log grows by several rows per saga; the overview looks at the newest rows only.
STEP_SAMPLE = 50_000


def _recent_steps(hours: int, now: datetime | None) -> QuerySet[SagaStepLog]:
    """Step log rows of the last `hours` hours, at most the newest STEP_SAMPLE of them.

    The bound is taken from the highest id (ids are handed out in order, nearly without
    gaps), so it costs one index lookup and the step log needs no time index of its own.
    """
    since = (now or timezone.now()) - timedelta(hours=hours)
    rows = SagaStepLog.objects.filter(started_at__gte=since)
    newest = SagaStepLog.objects.aggregate(newest=Max("pk"))["newest"]
    return rows.filter(pk__gt=newest - STEP_SAMPLE) if newest and newest > STEP_SAMPLE else rows


def slowest_steps(hours: int = 24, limit: int = 10, now: datetime | None = None) -> list[StepLatency]:
    """Steps by their slowest finished attempt in the last `hours` hours (newest STEP_SAMPLE attempts)."""
    rows = (
        _recent_steps(hours, now)
        .filter(
            finished_at__isnull=False,
            direction__in=[Direction.FORWARD, Direction.COMPENSATION],
        )
        .order_by()
        .values("step_name", "direction")
        .annotate(calls=Count("pk"), slowest=Max(_DURATION), total=Sum(_DURATION))
        .order_by("-slowest")[:limit]
    )
    return [
        StepLatency(
            row["step_name"],
            row["direction"],
            row["calls"],
            _as_timedelta(row["slowest"]),
            _as_timedelta(row["total"]) / max(row["calls"], 1),
        )
        for row in rows
    ]


def _as_timedelta(value: timedelta | int | float | None) -> timedelta:
    # SQLite hands duration aggregates back as microseconds.
    if value is None:
        return timedelta(0)
    if isinstance(value, timedelta):
        return value
    return timedelta(microseconds=value)


@dataclass(frozen=True)
class ErrorCount:
    step_name: str
    compensation: bool  # met while undoing the step, not while doing it
    error_type: str
    status: str  # the attempt's status, where no error type was recorded
    count: int
    sample: str
    last_seen: datetime

    @property
    def kind(self) -> str:
        """The error's class, or for an attempt logged without one (a choreographed refusal) its status."""
        return self.error_type or str(StepStatus(self.status).label)

    @property
    def step_label(self) -> str:
        return _("%(step)s (compensation)") % {"step": self.step_name} if self.compensation else self.step_name


# Attempts that met an error. A choreographed service logs its refusals and failures without an
# error type, so the status says it; an abandoned attempt (its worker lost the lease) is not a
# step's error unless it had one.
ERROR_STATUSES = (StepStatus.REFUSED, StepStatus.FAILED, StepStatus.TIMED_OUT)


def frequent_errors(hours: int = 24, limit: int = 10, now: datetime | None = None) -> list[ErrorCount]:
    """The commonest step errors of the last `hours` hours (newest STEP_SAMPLE attempts).

    Counted by step, by direction (a compensation's errors apart from its step's) and by error
    type, or by status for attempts logged without a type. Both styles key a compensation
    `...:compensate` (orchestration's step key, choreography's event key), so that tells them.
    """
    rows = (
        _recent_steps(hours, now)
        .filter(Q(status__in=ERROR_STATUSES) | ~Q(error_type=""))
        .annotate(
            compensation=Case(
                When(idempotency_key__endswith=":compensate", then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            bare_status=Case(When(error_type="", then=F("status")), default=Value(""), output_field=CharField()),
        )
        .order_by()
        .values("step_name", "compensation", "error_type", "bare_status")
        .annotate(n=Count("pk"), sample=Max("error_message"), last_seen=Max("started_at"))
        .order_by("-n", "step_name")[:limit]
    )
    return [
        ErrorCount(
            r["step_name"], r["compensation"], r["error_type"], r["bare_status"], r["n"], r["sample"], r["last_seen"]
        )
        for r in rows
    ]
