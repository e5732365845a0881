"""The recovery sweep: finds sagas that should be moving and are not, and enqueues them.

A saga needs a kick when it is in progress, not paused, holds no live lease, and either its
backoff has run out or nothing has touched it for a while (its queue row was lost in a
crash, or never written by a broker outside our transaction). Past-deadline sagas are
kicked too; the claim turns them to compensation. The sweep only enqueues: the step
protocol makes an extra run harmless, so overlapping sweeps are safe. A saga whose queue
row is due and waiting for a worker is left alone: under a backlog, kicking it again would
only add rows for the same work and make the backlog longer. A queue row claimed by a worker
or cluster that is gone is handed back first (sagas.engine.queue.release_orphaned_claims), so its
task runs again without waiting out django-q2's `retry` lease.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from sagas.engine import store
from sagas.engine.queue import release_orphaned_claims, waiting_saga_ids
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStyle

logger = logging.getLogger("sagas.recovery")

DEFAULT_IDLE_SECONDS = 30

# The sweep's summary, written once here (gettext_noop): English in the log, translated by a command.
ENQUEUED = gettext_noop(
    "enqueued %(count)s saga(s): %(expired)s with an expired lease, %(retries)s retry due, "
    "%(idle)s idle (lost enqueue), %(deadline)s past deadline"
)
WOULD_ENQUEUE = gettext_noop(
    "would enqueue %(count)s saga(s): %(expired)s with an expired lease, %(retries)s retry due, "
    "%(idle)s idle (lost enqueue), %(deadline)s past deadline"
)
ALREADY_QUEUED = gettext_noop("; %(count)s already queued, left alone")
HANDED_BACK = gettext_noop("; %(count)s task(s) held by a dead worker handed back")


@dataclass
class SweepReport:
    expired_leases: list[str] = field(default_factory=list)
    retries_due: list[str] = field(default_factory=list)
    idle: list[str] = field(default_factory=list)
    past_deadline: list[str] = field(default_factory=list)
    # Would have been kicked, but a queue row for them is already due: they wait their turn.
    already_queued: list[str] = field(default_factory=list)
    # Queue rows whose claim was held by a process that is gone, handed back to the workers.
    released_claims: list[int] = field(default_factory=list)
    dry_run: bool = False

    @property
    def saga_ids(self) -> list[str]:
        return self.expired_leases + self.retries_due + self.idle + self.past_deadline

    def summary(self, translate: Callable[[str], str] = str) -> str:
        """One line on what the sweep did: in English for the log and the task's result; a command
        passes gettext to print it in the reader's language."""
        counts = {
            "count": len(self.saga_ids),
            "expired": len(self.expired_leases),
            "retries": len(self.retries_due),
            "idle": len(self.idle),
            "deadline": len(self.past_deadline),
        }
        text = translate(WOULD_ENQUEUE if self.dry_run else ENQUEUED) % counts
        if self.already_queued:
            text += translate(ALREADY_QUEUED) % {"count": len(self.already_queued)}
        if self.released_claims:
            text += translate(HANDED_BACK) % {"count": len(self.released_claims)}
        return text


def sagas_needing_kick(idle_seconds: int = DEFAULT_IDLE_SECONDS) -> dict[str, QuerySet[SagaInstance]]:
    """Sagas the sweep would enqueue, by reason; each saga appears under one reason only."""
    now = timezone.now()
    # Choreographed sagas have their own sweep (sagas.choreography.sweep): no step to run here.
    movable = SagaInstance.objects.filter(
        style=SagaStyle.ORCHESTRATION, status__in=ACTIVE_STATUSES, paused=False
    ).filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
    expired = movable.filter(lease_expires_at__isnull=False)
    unleased = movable.filter(lease_expires_at__isnull=True)
    retry_due = unleased.filter(next_run_at__isnull=False, next_run_at__lte=now - timedelta(seconds=2))
    idle = unleased.filter(next_run_at__isnull=True, updated_at__lte=now - timedelta(seconds=idle_seconds))
    past_deadline = unleased.filter(deadline_at__lte=now).exclude(
        Q(next_run_at__isnull=False, next_run_at__lte=now - timedelta(seconds=2))
        | Q(next_run_at__isnull=True, updated_at__lte=now - timedelta(seconds=idle_seconds))
    )
    return {"expired_leases": expired, "retries_due": retry_due, "idle": idle, "past_deadline": past_deadline}


def sweep(idle_seconds: int = DEFAULT_IDLE_SECONDS, dry_run: bool = False, limit: int = 5000) -> SweepReport:
    """Enqueue every saga that should be moving and is not."""
    report = SweepReport(dry_run=dry_run)
    if not dry_run:
        report.released_claims = release_orphaned_claims()
    found = {
        reason: [str(pk) for pk in queryset.order_by("updated_at").values_list("pk", flat=True)[:limit]]
        for reason, queryset in sagas_needing_kick(idle_seconds).items()
    }
    waiting = waiting_saga_ids() if any(found.values()) else set()
    for reason, ids in found.items():
        getattr(report, reason).extend(saga_id for saga_id in ids if saga_id not in waiting)
        report.already_queued.extend(saga_id for saga_id in ids if saga_id in waiting)
    if not dry_run and report.saga_ids:
        store.touch_and_enqueue(report.saga_ids, timezone.now())
    if report.saga_ids or report.released_claims:
        logger.warning("recovery sweep %s", report.summary())
    return report
