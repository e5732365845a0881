"""Saga counts by status without counting every saga on every scrape.

A plain GROUP BY status reads every saga: at a million sagas that is a few hundred
milliseconds per scrape, growing with the table. The counts are exact here and cost in
proportion to recent and unfinished sagas instead:

- COMPLETED and COMPENSATED are absorbing: a saga never leaves them. A *snapshot*, shared by
  every web process through the "cluster" cache, holds for the sagas created before a cut
  time how many sit in each absorbing status, and the ids of the rest (in progress or
  FAILED: they may still move). It is taken in one statement, so it is consistent.
- A scrape adds the sagas created since the cut (the status and created_at indexes), those
  of the remembered ids that have since been absorbed (primary key), and counts the small
  non-absorbing statuses directly (the status index).
- Every SNAPSHOT_STEP the cut moves forward by counting only the sagas created in between.
  The cut stays at least SNAPSHOT_STEP in the past: a saga created before it was committed
  long ago (saga rows are written in short transactions). The snapshot expires after SNAPSHOT_TTL and is then rebuilt
  from scratch, which bounds the effect of any row edited behind its back.

When more than PENDING_LIMIT old sagas are unfinished the snapshot is not worth keeping and
the plain GROUP BY is used.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import caches
from django.db.models import CharField, Count, IntegerField, Q, Value
from django.db.models.functions import Cast
from django.utils import timezone

from sagas.models import SagaInstance, SagaStatus

ABSORBING = (SagaStatus.COMPLETED, SagaStatus.COMPENSATED)
OPEN = tuple(status for status in SagaStatus if status not in ABSORBING)
SNAPSHOT_STEP = timedelta(minutes=10)
SNAPSHOT_TTL = timedelta(hours=1)
PENDING_LIMIT = 20_000
CACHE_ALIAS = "cluster"
CACHE_KEY = "sagas:metrics:status-snapshot:v1"


def _cut_for(now: datetime) -> datetime:
    """The latest cut allowed at `now`: a SNAPSHOT_STEP boundary at least one step ago."""
    step = SNAPSHOT_STEP.total_seconds()
    return datetime.fromtimestamp((((now - SNAPSHOT_STEP).timestamp()) // step) * step, tz=now.tzinfo)


def _band(since: datetime | None, until: datetime) -> tuple[dict[str, int], list[str]]:
    """Absorbed counts by status and the ids of the unfinished, for sagas created in [since, until)."""
    created = Q(created_at__lt=until) if since is None else Q(created_at__gte=since, created_at__lt=until)
    absorbed = (
        SagaInstance.objects.filter(created, status__in=ABSORBING)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), saga=Value("", output_field=CharField()))
        .values_list("status", "n", "saga")
    )
    unfinished = (
        SagaInstance.objects.filter(created, status__in=OPEN)
        .order_by()
        .annotate(n=Value(1, output_field=IntegerField()), saga=Cast("pk", output_field=CharField()))
        .values_list("status", "n", "saga")
    )
    counts: dict[str, int] = dict.fromkeys(ABSORBING, 0)
    pending: list[str] = []
    # One statement, one consistent view: a saga finishing meanwhile is counted exactly once.
    for status, n, saga in absorbed.union(unfinished, all=True):
        if saga:
            pending.append(saga)
        else:
            counts[status] += n
    return counts, pending


def _absorbed_since(pending: list[str]) -> tuple[dict[str, int], list[str]]:
    """How many of the pending sagas are now absorbed, by status, and the ids still unfinished."""
    counts: dict[str, int] = dict.fromkeys(ABSORBING, 0)
    still: list[str] = []
    ids = [uuid.UUID(saga) for saga in pending]
    for start in range(0, len(ids), 5000):
        for pk, status in SagaInstance.objects.filter(pk__in=ids[start : start + 5000]).values_list("pk", "status"):
            if status in ABSORBING:
                counts[status] += 1
            else:
                still.append(str(pk))
    return counts, still


def _store(snapshot: dict[str, Any]) -> dict[str, Any] | None:
    cache = caches[CACHE_ALIAS]
    if len(snapshot["pending"]) > PENDING_LIMIT:
        cache.delete(CACHE_KEY)
        return None
    cache.set(CACHE_KEY, snapshot, timeout=int(SNAPSHOT_TTL.total_seconds()) * 2)
    return snapshot


def _settled(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with its absorbed pending sagas moved into the base counts."""
    moved, still = _absorbed_since(snapshot["pending"])
    base = {status: snapshot["base"][status] + moved[status] for status in ABSORBING}
    return {**snapshot, "base": base, "pending": still}


def _snapshot(now: datetime) -> dict[str, Any] | None:
    """The current snapshot, taken or moved forward as needed; None when not worth keeping."""
    cut = _cut_for(now)
    snapshot = caches[CACHE_ALIAS].get(CACHE_KEY)
    if snapshot is None or snapshot["taken_at"] < now - SNAPSHOT_TTL:
        counts, pending = _band(None, cut)
        return _store({"cut": cut, "taken_at": now, "base": counts, "pending": pending})
    if snapshot["cut"] < cut:
        snapshot = _settled(snapshot)
        counts, pending = _band(snapshot["cut"], cut)
        base = {status: snapshot["base"][status] + counts[status] for status in ABSORBING}
        return _store({**snapshot, "cut": cut, "base": base, "pending": snapshot["pending"] + pending})
    return snapshot


def _grouped(queryset: Any) -> dict[str, int]:
    return dict(queryset.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n"))


def status_counts_full() -> dict[str, int]:
    """Every status's count by a GROUP BY over all sagas."""
    return dict.fromkeys(SagaStatus.values, 0) | _grouped(SagaInstance.objects.all())


def status_counts(now: datetime | None = None) -> dict[str, int]:
    """How many sagas are in each status now, every status present; exact."""
    now = now or timezone.now()
    snapshot = _snapshot(now)
    if snapshot is None:
        return status_counts_full()
    counts = dict.fromkeys(SagaStatus.values, 0)
    old_open = 0
    rows = (
        SagaInstance.objects.filter(status__in=OPEN)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), old=Count("pk", filter=Q(created_at__lt=snapshot["cut"])))
    )
    for row in rows:
        counts[row["status"]] = row["n"]
        old_open += row["old"]
    # Old sagas only ever leave the open statuses; only when some did are the ids looked up.
    if old_open != len(snapshot["pending"]):
        snapshot = _store(_settled(snapshot))
        if snapshot is None:
            return status_counts_full()
    recent = _grouped(SagaInstance.objects.filter(status__in=ABSORBING, created_at__gte=snapshot["cut"]))
    for status in ABSORBING:
        counts[status] = snapshot["base"][status] + recent.get(status, 0)
    return counts
