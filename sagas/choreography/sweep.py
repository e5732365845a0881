"""The sweep of choreography: relay what a crash left in the outboxes, and watch the sagas.

1. Relay: outbox rows older than a grace period that no relay handed over (a crash between
   a service's commit and its relay) are queued now, from every outbox a participant
   registered (sagas.choreography.flow.register_outbox).
2. Purge: delivered outbox rows and inbox rows older than OUTBOX_RETENTION_HOURS go, except
   those of a saga not finished (in progress, or FAILED and not marked resolved): resuming
   it delivers them again.
3. Deadline: a choreographed saga past its deadline, not yet approved and never asked to
   cancel, gets a cancel request (the services then undo their work).
4. Idle: a saga in progress that nothing has touched for a while and that has no delivery
   in the queue (its queue rows were lost) has all its events delivered again; repeats are
   harmless. With django-q2's ORM broker a delivery whose worker was killed stays queued;
   its queue row is handed back first (sagas.engine.queue.release_orphaned_claims) when the
   worker's cluster runs under run_workers, else after the broker's `retry` lease. So this
   step is for other brokers.

It runs as a django-q2 schedule every minute and as `manage.py relay_outbox`. The
orchestration sweep (sagas.engine.recovery) leaves choreographed sagas alone, and this one leaves
orchestrated sagas alone.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from sagas.choreography import monitor
from sagas.choreography.flow import flow_for, outboxes
from sagas.choreography.start import redeliver, request_cancel
from sagas.engine import notes
from sagas.engine.queue import release_orphaned_claims
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStepLog, SagaStyle, StepStatus
from sagas.participant import eventbus
from sagas.participant.outbox import Event
from sagas.selectors import needs_attention_condition

logger = logging.getLogger("sagas.choreography")

SCHEDULE_NAME = "choreography-sweep"
# Stored in the schedule row: django-q2 entry points live in sagas.tasks, whose paths never move.
SCHEDULE_FUNC = "sagas.tasks.choreography_sweep"

# At most this many unfinished sagas per status are read to keep their events (four statuses).
KEEP_LIMIT = 2000
# How far apart the clocks of the hosts that write sagas and events may be.
CLOCK_MARGIN = timedelta(minutes=10)


# The sweep's summary, written once here (gettext_noop): English in the log, translated by a command.
SWEPT = gettext_noop(
    "choreography sweep did: relay %(relayed)s event(s), cancel %(cancelled)s saga(s) past their deadline, "
    "re-deliver the events of %(idle)s idle saga(s); %(purged)s delivered event(s) purged"
)
WOULD_SWEEP = gettext_noop(
    "choreography sweep would: relay %(relayed)s event(s), cancel %(cancelled)s saga(s) past their deadline, "
    "re-deliver the events of %(idle)s idle saga(s); %(purged)s delivered event(s) purged"
)
HANDED_BACK = gettext_noop("; %(count)s dead worker's task(s) handed back")


@dataclass
class SweepReport:
    relayed: list[tuple[str, Event]] = field(default_factory=list)
    purged: dict[str, tuple[int, int]] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    redelivered: list[str] = field(default_factory=list)
    released_claims: list[int] = field(default_factory=list)
    dry_run: bool = False

    def summary(self, translate: Callable[[str], str] = str) -> str:
        """One line on what the sweep did: in English for the log and the task's result; a command
        passes gettext to print it in the reader's language."""
        counts = {
            "relayed": len(self.relayed),
            "cancelled": len(self.cancelled),
            "idle": len(self.redelivered),
            "purged": sum(outbox for outbox, _ in self.purged.values()),
        }
        text = translate(WOULD_SWEEP if self.dry_run else SWEPT) % counts
        if self.released_claims:
            text += translate(HANDED_BACK) % {"count": len(self.released_claims)}
        return text


def relay_pending(older_than_seconds: float | None = None, dry_run: bool = False) -> list[tuple[str, Event]]:
    """Queue every event no relay has handed over yet (older than the grace period)."""
    relayed: list[tuple[str, Event]] = []
    for outbox in outboxes():
        events = outbox.pending(older_than_seconds) if dry_run else outbox.relay(older_than_seconds=older_than_seconds)
        relayed.extend((outbox.service, event) for event in events)
    return relayed


def sagas_needing_their_events(cutoff: datetime, limit: int = KEEP_LIMIT) -> tuple[list[Any], datetime]:
    """The choreographed sagas not finished that may have events older than `cutoff`, and the cutoff to purge at.

    A saga in progress, or FAILED and not marked resolved, may still be resumed, and resume
    delivers its events again. Only a saga started before the cutoff can have events that
    old (CLOCK_MARGIN allows for hosts whose clocks differ), which in a healthy system leaves
    the few stuck or failed ones. Each status is one indexed range read of at most `limit`
    rows, oldest first; where a read is cut short, the cutoff moves back to before the oldest
    saga not read, so no event of an unlisted saga is old enough to go.
    """
    started_early = SagaInstance.objects.filter(style=SagaStyle.CHOREOGRAPHY, created_at__lt=cutoff + CLOCK_MARGIN)
    unfinished = [Q(status=status) for status in ACTIVE_STATUSES] + [needs_attention_condition()]
    keep: list[Any] = []
    for condition in unfinished:
        rows = list(started_early.filter(condition).order_by("created_at").values_list("pk", "created_at")[:limit])
        keep.extend(pk for pk, _ in rows)
        if rows and len(rows) == limit:
            cutoff = min(cutoff, rows[-1][1] - CLOCK_MARGIN)
    return keep, cutoff


def purge(retention_hours: float) -> dict[str, tuple[int, int]]:
    """Delete delivered outbox rows and inbox rows older than the retention, per service.

    Every event of a saga not finished is kept: the outboxes live on the services' databases
    and saga states on `default`, so the ids of those sagas are read first and excluded.
    """
    keep, before = sagas_needing_their_events(timezone.now() - timedelta(hours=retention_hours))
    return {outbox.service: outbox.purge(before=before, keep_saga_ids=keep) for outbox in outboxes()}


def _choreographed_in_progress() -> Any:
    return SagaInstance.objects.filter(style=SagaStyle.CHOREOGRAPHY, status__in=ACTIVE_STATUSES)


def _system_note(saga: SagaInstance, text: str, details: dict[str, Any]) -> SagaStepLog:
    now = timezone.now()
    return SagaStepLog(
        saga=saga,
        step_name=saga.current_step,
        step_index=saga.step_index,
        direction=Direction.SYSTEM,
        status=StepStatus.RECORDED,
        started_at=now,
        finished_at=now,
        actor="choreography sweep",
        reason=text,
        result=details,
    )


def cancel_past_deadline(limit: int = 1000, dry_run: bool = False) -> list[str]:
    """Ask to cancel every choreographed saga past its deadline that is not past its pivot."""
    now = timezone.now()
    # A COMPENSATING saga is already being undone by its services; a cancel would add nothing.
    running = _choreographed_in_progress().filter(status__in=[SagaStatus.PENDING, SagaStatus.RUNNING])
    candidates = running.filter(deadline_at__lte=now).order_by("deadline_at")[:limit]
    cancelled = []
    for saga in candidates:
        flow = flow_for(saga)
        seen = monitor.seen_types(saga.context)
        if flow.pivot_event in seen or flow.cancel_request_event in seen:
            continue
        cancelled.append(str(saga.pk))
        if dry_run:
            continue
        with transaction.atomic(using="default"):
            text = notes.DEADLINE_PASSED % {"time": f"{saga.deadline_at:%Y-%m-%d %H:%M:%S}"}
            context = request_cancel(saga, "deadline", text, cause=text)
            fields = monitor.view(saga, context, now)
            if monitor.fenced_update(saga, now, **{**fields, "last_error": text}):
                _system_note(saga, text + " Cancel requested.", {}).save()
            else:
                transaction.set_rollback(True, using="default")
                cancelled.pop()
    return cancelled


def redeliver_idle(idle_seconds: float, limit: int = 200, dry_run: bool = False) -> list[str]:
    """Deliver again the events of sagas in progress that nothing has touched for a while.

    A saga with a delivery still in the queue is only waiting its turn (or for django-q2 to
    hand out again the task of a worker that died), so it is left alone: re-delivering it
    would only lengthen the queue it waits in. What is left lost its queue rows (a broker
    that is not transactional, such as Redis, or rows removed by hand).
    """
    now = timezone.now()
    idle = list(_choreographed_in_progress().filter(updated_at__lte=now - timedelta(seconds=idle_seconds)))
    if not idle:
        return []
    queued = eventbus.queued_saga_ids()
    done = []
    for saga in sorted(idle, key=lambda saga: saga.updated_at):
        if str(saga.pk) in queued:
            continue
        if len(done) >= limit:
            break
        done.append(str(saga.pk))
        if dry_run:
            continue
        with transaction.atomic(using="default"):
            count, fields = redeliver(saga, now)
            if monitor.fenced_update(saga, now, **fields):
                text = notes.IDLE_REDELIVERED % {"seconds": f"{idle_seconds:g}", "count": count}
                _system_note(saga, text, {"redelivered": count}).save()
            else:
                transaction.set_rollback(True, using="default")
                done.pop()
    return done


def sweep(
    *,
    grace_seconds: float | None = None,
    idle_seconds: float | None = None,
    retention_hours: float | None = None,
    dry_run: bool = False,
) -> SweepReport:
    """Relay, purge, cancel what is past its deadline and re-deliver what went idle."""
    grace = settings.OUTBOX_RELAY_GRACE_SECONDS if grace_seconds is None else grace_seconds
    idle = settings.CHOREOGRAPHY_IDLE_SECONDS if idle_seconds is None else idle_seconds
    retention = settings.OUTBOX_RETENTION_HOURS if retention_hours is None else retention_hours
    report = SweepReport(dry_run=dry_run)
    if not dry_run:
        report.released_claims = release_orphaned_claims()
    report.relayed = relay_pending(grace, dry_run=dry_run)
    if not dry_run:
        report.purged = purge(retention)
    report.cancelled = cancel_past_deadline(dry_run=dry_run)
    report.redelivered = redeliver_idle(idle, dry_run=dry_run)
    if report.relayed or report.cancelled or report.redelivered or report.released_claims:
        logger.warning(report.summary())
    return report


def install_schedule(using: str = "default", **kwargs: Any) -> None:
    """Create or correct the sweep's schedule: one row, every minute (a post_migrate receiver)."""
    from django.db import router
    from django_q.models import Schedule

    if not router.allow_migrate_model(using, Schedule):
        return
    manager = Schedule.objects.using(using)
    rows = list(manager.filter(name=SCHEDULE_NAME).order_by("pk"))
    for extra in rows[1:]:
        extra.delete()
    fields = {"func": SCHEDULE_FUNC, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1, "cluster": None}
    if rows:
        manager.filter(pk=rows[0].pk).update(**fields)
    else:
        manager.create(name=SCHEDULE_NAME, next_run=timezone.now(), **fields)
