"""The invariants check_consistency proves: the engine's own, and those each saga definition registers.

They are described in docs/architecture.md ("The invariants").

The engine's own invariants hold for any saga and read only the engine's tables:

- 5 (nothing stuck unnoticed) is one filtered query that returns only the offending rows;
- 11 (no step succeeded twice) and 12 (no overlapping attempts) are one windowed query over
  the step log that returns only the offending rows, fetched in chunks, so memory stays
  flat however many sagas there are (on PostgreSQL after a first pass that names the sagas
  it must read).

Each definition's invariants come from the check its app registered (sagas.engine.invariants),
run here at the same time as the engine's, each on its own connections (run_parts); each
should be set-based too (see orders/invariants.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

from django.db import connections
from django.db.models import Case, Count, DateTimeField, F, Max, Q, RowRange, Value, When, Window
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_noop

from sagas.engine.invariants import CheckContext, Violation, all_invariants, registered_checks, run_parts
from sagas.models import (
    ACTIVE_STATUSES,
    Direction,
    SagaInstance,
    SagaStepLog,
    StepStatus,
    direction_code_name,
    status_code_name,
)

# The violations' messages, English in the JSON output; the text output says them in the
# reader's language (Violation.message_in_language), the status and direction codes too.
STUCK = gettext_noop("%(status)s %(late)ss past its deadline with no live lease and nothing scheduled")
SUCCEEDED_TWICE = gettext_noop("%(step)s (%(direction)s) succeeded %(times)s times")
OVERLAP_RUNNING = gettext_noop(
    "%(step)s (%(direction)s) attempt %(attempt)s on %(worker)s started at %(started)s, "
    "while an earlier attempt of the saga still ran"
)
OVERLAP_FINISHED = gettext_noop(
    "%(step)s (%(direction)s) attempt %(attempt)s on %(worker)s started at %(started)s, "
    "before an earlier attempt of the saga finished at %(earlier)s"
)
_status_name = lazy(status_code_name, str)
_direction_name = lazy(direction_code_name, str)

__all__ = ["DEFAULT_STUCK_GRACE_SECONDS", "Violation", "all_invariants", "find_violations"]

CHUNK_SIZE = 5000
# Past its deadline a saga is turned to compensation by the next sweep (every minute, picked
# up within ~30 s by the scheduler); only a saga left alone longer than this counts as stuck.
DEFAULT_STUCK_GRACE_SECONDS = 120


def find_violations(
    *, now: datetime | None = None, stuck_grace_seconds: int = DEFAULT_STUCK_GRACE_SECONDS
) -> list[Violation]:
    """Every violation of the engine's invariants and of each registered definition's, ordered by number."""
    context = CheckContext(now=now or timezone.now(), stuck_grace_seconds=stuck_grace_seconds)
    # Every check reads its own tables: they run at once, each on its own connections (run_parts).
    parts: list[Callable[[], Iterable[Violation]]] = [partial(check.find, context) for check in registered_checks()]
    parts += [partial(_check_stuck, context.now, context.stuck_grace_seconds), _check_attempts]
    found = _attach_sagas(run_parts(parts))
    found.sort(key=lambda v: (v.invariant, v.saga_id or "", v.business_key or ""))
    return found


# --- invariant 5 -----------------------------------------------------------------------------


def _check_stuck(now: datetime, grace_seconds: int) -> Iterator[Violation]:
    """Sagas in progress, past their deadline, that nobody holds, nothing is scheduled for,
    and nothing has touched for the grace period (a claim, a checkpoint or a sweep kick)."""
    cutoff = now - timedelta(seconds=grace_seconds)
    stuck = (
        SagaInstance.objects.using("default")
        .filter(status__in=ACTIVE_STATUSES, paused=False, deadline_at__lt=cutoff, updated_at__lt=cutoff)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .exclude(next_run_at__gt=now)
        .values_list("id", "business_key", "status", "deadline_at")
    )
    for saga_id, order_id, status, deadline in stuck.iterator(chunk_size=CHUNK_SIZE):
        late = int((now - deadline).total_seconds())
        yield Violation.of(
            5,
            str(saga_id),
            str(order_id) if order_id else None,
            STUCK,
            status=_status_name(status),
            late=late,
        )


# --- invariants 11 and 12: one pass over the step log ------------------------------------------

# The directions in which the engine calls a participant; events and notes are not attempts.
_CALLS = (Direction.FORWARD.value, Direction.COMPENSATION.value)
# An attempt still running has no end yet: it overlaps whatever the saga did after it started.
_OPEN_END = datetime(9999, 12, 31, tzinfo=UTC)


def _check_attempts() -> Iterator[Violation]:
    """Invariants 11 and 12, in one sorted pass over the step log.

    11: a step whose action, or whose compensation, succeeded more than once: its effect was
    asked for twice, which only a participant's idempotency key can have kept single.

    12: an attempt that started while an earlier attempt of the same saga still ran, or before
    it finished: two workers held the saga at once, which the lease is there to prevent. An
    attempt the engine abandoned does not count: its worker lost the lease (it stopped
    answering, was cut short by an operator, or its late answer was fenced out), so its result
    was never used and its late finish is no second holder.

    Both are window functions over the step log, and only the rows that break one of them come
    back, fetched CHUNK_SIZE at a time. On PostgreSQL one pass in the order of a saga's attempts
    first names the sagas that may break either (_suspect_sagas), and the exact query then reads
    only theirs; elsewhere it reads the whole table in one pass.
    """
    if connections["default"].vendor != "postgresql":
        yield from _attempt_violations(None)
        return
    suspects = _suspect_sagas()
    for start in range(0, len(suspects), 1000):
        yield from _attempt_violations(suspects[start : start + 1000])


# Sagas that may break 11 or 12, in one sort of the step log (by saga, then time) instead of two.
# 12 is exact here. For 11, a saga whose successful attempts number more than the bits set by
# hashing each one's (step, direction) into 64 has a repeat or a hash collision: never a
# repeat missed, and a collision only sends a clean saga to the exact query.
_SUSPECTS_SQL = """
SELECT saga_id FROM (
    SELECT saga_id, status, step_name, direction, started_at,
           MAX(CASE WHEN status <> %(abandoned)s THEN COALESCE(finished_at, 'infinity') END)
               OVER (PARTITION BY saga_id ORDER BY started_at, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
               AS earlier_end
    FROM {table} WHERE direction = ANY(%(calls)s)
) attempts
GROUP BY saga_id
HAVING bool_or(status <> %(abandoned)s AND earlier_end > started_at)
    OR count(*) FILTER (WHERE status = %(succeeded)s) > bit_count((
        bit_or(1::bigint << (hashtext(step_name || ' ' || direction) & 63)) FILTER (WHERE status = %(succeeded)s)
    )::bit(64))
"""


def _suspect_sagas() -> list[uuid.UUID]:
    sql = _SUSPECTS_SQL.format(table=connections["default"].ops.quote_name(SagaStepLog._meta.db_table))
    params = {"abandoned": StepStatus.ABANDONED.value, "succeeded": StepStatus.SUCCEEDED.value, "calls": list(_CALLS)}
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def _attempt_violations(saga_ids: list[uuid.UUID] | None) -> Iterator[Violation]:
    """Invariants 11 and 12 for the sagas named, or for every saga (None)."""
    held = ~Q(status=StepStatus.ABANDONED)
    earlier_end = Window(
        Max(Case(When(held, then=Coalesce("finished_at", Value(_OPEN_END, output_field=DateTimeField()))))),
        partition_by=[F("saga_id")],
        order_by=[F("started_at").asc(), F("id").asc()],
        frame=RowRange(start=None, end=-1),
    )
    successes = Window(
        Count("id", filter=Q(status=StepStatus.SUCCEEDED)), partition_by=[F("saga_id"), F("step_name"), F("direction")]
    )
    overlaps = Case(When(Q(held, GreaterThan(earlier_end, F("started_at"))), then=1), default=0)
    repeated = Case(When(Q(Q(status=StepStatus.SUCCEEDED), GreaterThan(successes, 1)), then=2), default=0)
    logs = SagaStepLog.objects.using("default").filter(direction__in=_CALLS)
    if saga_ids is not None:
        logs = logs.filter(saga_id__in=saga_ids)
    broken = (
        logs.annotate(earlier_end=earlier_end, successes=successes, broken=overlaps + repeated)
        .filter(broken__gt=0)
        .order_by("saga_id", "started_at", "id")
        .values_list(
            "saga_id", "step_name", "direction", "attempt", "worker", "started_at", "earlier_end", "successes", "broken"
        )
    )
    told: set[tuple[str, str, str]] = set()
    for saga_id, step, direction, attempt, worker, started, earlier, times, problems in broken.iterator(
        chunk_size=CHUNK_SIZE
    ):
        if problems & 2 and (str(saga_id), step, direction) not in told:
            told.add((str(saga_id), step, direction))
            yield Violation.of(
                11, str(saga_id), None, SUCCEEDED_TWICE, step=step, direction=_direction_name(direction), times=times
            )
        if problems & 1:
            yield _overlap(str(saga_id), step, direction, attempt, worker, started, earlier)


def _overlap(
    saga_id: str, step: str, direction: str, attempt: int, worker: str, started: datetime, earlier: datetime
) -> Violation:
    who = {"step": step, "direction": _direction_name(direction), "attempt": attempt, "worker": worker or "?"}
    if earlier >= _OPEN_END:
        return Violation.of(12, saga_id, None, OVERLAP_RUNNING, started=f"{started:%H:%M:%S.%f} UTC", **who)
    return Violation.of(
        12,
        saga_id,
        None,
        OVERLAP_FINISHED,
        started=f"{started:%H:%M:%S.%f} UTC",
        earlier=f"{earlier:%H:%M:%S.%f} UTC",
        **who,
    )


def _attach_sagas(violations: list[Violation]) -> list[Violation]:
    """Name the saga of each violation that only knows its order, with one query per 1000 orders."""
    missing = sorted({v.business_key for v in violations if v.saga_id is None and v.business_key})
    owners: dict[str, str] = {}
    for start in range(0, len(missing), 1000):
        batch = [uuid.UUID(order_id) for order_id in missing[start : start + 1000]]
        for order_id, saga_id in (
            SagaInstance.objects.using("default").filter(business_key__in=batch).values_list("business_key", "id")
        ):
            owners.setdefault(str(order_id), str(saga_id))
    return [
        replace(v, saga_id=owners.get(v.business_key or "")) if v.saga_id is None and v.business_key else v
        for v in violations
    ]
