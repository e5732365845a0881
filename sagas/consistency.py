"""The invariants check_consistency proves: the engine's own, and those each saga definition registers.

They are described in docs/architecture.md ("The invariants").

The engine's own invariant (5: nothing stuck unnoticed) is one filtered query that returns
only the offending rows. Each definition's invariants come from the check its app registered
(sagas.engine.invariants), run here one after the other; each should be set-based too, so
a million sagas cost a handful of queries, not a million (see orders/invariants.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from sagas.engine.invariants import CheckContext, Violation, all_invariants, registered_checks
from sagas.models import ACTIVE_STATUSES, SagaInstance

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
    found: list[Violation] = []
    for check in registered_checks():
        found.extend(check.find(context))
    found.extend(_check_stuck(context.now, context.stuck_grace_seconds))
    found = _attach_sagas(found)
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
        yield Violation(
            5,
            str(saga_id),
            str(order_id) if order_id else None,
            f"{status} {late}s past its deadline with no live lease and nothing scheduled",
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
        Violation(v.invariant, owners.get(v.business_key or ""), v.business_key, v.message)
        if v.saga_id is None and v.business_key
        else v
        for v in violations
    ]
