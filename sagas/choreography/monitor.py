"""The saga monitor of choreographed sagas: every event and failed attempt becomes a step log row.

The monitor drives nothing. It keeps one SagaInstance per order up to date from the events
so the admin, the API and the commands show both styles alike. Several workers deliver
events of one saga at once, so each update is fenced by the saga's version: a writer that
read an older version changes nothing and tries again on a fresh read. The monitor's own
inbox is the saga's context: an event id it has seen is not recorded twice.

A choreographed delivery has no lease, so the monitor keeps one in the same writes: while a
worker's task hands an event of the saga to its services, the saga's context names that run
(`deliveries`) until the run moves off the saga. No task outlives django-q2's timeout, so an
entry older than that belongs to a run that was cut short (its worker was killed, or its task
timed out); the next write on the saga logs it ABANDONED, as the runner does for a step whose
lease ran out.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_q.conf import Conf

from sagas.choreography.flow import flow_for
from sagas.engine import notes, store, transitions
from sagas.engine.queue import new_worker_id
from sagas.engine.store import SagaWrite
from sagas.models import TERMINAL_STATUSES, Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.ops.logging import saga_log_context
from sagas.participant import eventbus
from sagas.participant.eventbus import Subscription
from sagas.participant.outbox import Event, event_key

# A subscriber's failed attempt, stored in English as the engine's other notes are and registered
# with them, so the console and saga_status say it in the reader's language, the error kept.
DELIVERY_FAILED = gettext_noop("%(handler)s on %(event)s: %(error)s")
notes.register_notes(DELIVERY_FAILED)

logger = logging.getLogger("sagas.monitor")

_FENCE_TRIES = 20

# The key of the saga context that names the delivery runs in flight on the saga.
DELIVERIES = "deliveries"


@dataclass
class DeliveryRun:
    """One worker task delivering events, and the sagas whose context still names it."""

    worker: str
    open: set[str] = field(default_factory=set)


_run: ContextVar[DeliveryRun | None] = ContextVar("sagas_delivery_run", default=None)


def delivery_time_limit() -> timedelta:
    """How long a delivery run can last: django-q2's task timeout, plus the lease margin for clocks."""
    task_seconds = Conf.TIMEOUT or settings.SAGA_TASK_BUDGET_SECONDS
    return timedelta(seconds=task_seconds + settings.SAGA_LEASE_MARGIN_SECONDS)


@contextmanager
def delivery_run() -> Iterator[DeliveryRun]:
    """Within the block, the monitor's writes name this run on the saga it delivers events of.

    When the run ends, a saga whose context still names it is told the run moved off (one
    write, only where the last event it recorded had services still to hear it).
    """
    if _run.get() is not None:
        yield _run.get()
        return
    run = DeliveryRun(worker=new_worker_id())
    token = _run.set(run)
    try:
        yield run
    finally:
        _run.reset(token)
        for saga_id in sorted(run.open):
            try:
                _fenced_change(saga_id, lambda saga, now: ("closed", None, []), run=run, delivering=None)
            except Exception:
                logger.exception("could not close delivery run %s on saga %s", run.worker, saga_id)


def _entry_expired(entry: dict[str, Any], now: datetime) -> bool:
    try:
        return datetime.fromisoformat(entry["until"]) < now
    except (KeyError, TypeError, ValueError):
        return True


def abandoned_delivery_log(saga: SagaInstance, worker: str, entry: dict[str, Any], now: datetime) -> SagaStepLog:
    """The step log row of a delivery run that was cut short, under the worker that ran it."""
    event_type = str(entry.get("event", ""))
    text = notes.DELIVERY_CUT_SHORT % {"event": event_type, "seconds": f"{delivery_time_limit().total_seconds():g}"}
    return SagaStepLog(
        saga=saga,
        step_name=event_type,
        step_index=int(entry.get("sequence", saga.step_index)),
        direction=Direction.SYSTEM,
        status=StepStatus.ABANDONED,
        started_at=_parse_time(entry.get("since", ""), now),
        finished_at=now,
        result={"event": event_type, "event_id": entry.get("event_id", "")},
        error_message=text,
        worker=worker,
        actor="saga monitor",
        reason=text,
    )


_KEEP = object()


def _settle_deliveries(
    saga: SagaInstance, context: dict[str, Any], now: datetime, run: DeliveryRun | None, delivering: Any
) -> tuple[dict[str, Any], list[SagaStepLog]]:
    """`context` with this run's entry set to the event it now delivers (None: removed; _KEEP: as is),
    and the entries of other runs past their time turned into ABANDONED rows."""
    entries = dict(context.get(DELIVERIES, {}))
    rows = []
    for worker, entry in sorted(entries.items()):
        if (run is None or worker != run.worker) and _entry_expired(entry, now):
            rows.append(abandoned_delivery_log(saga, worker, entry, now))
            del entries[worker]
    if run is not None and delivering is not _KEEP:
        if delivering is None:
            entries.pop(run.worker, None)
        else:
            event: Event = delivering
            entries[run.worker] = {
                "event": event.type,
                "event_id": event.id,
                "sequence": event.sequence,
                "since": now.isoformat(),
                "until": (now + delivery_time_limit()).isoformat(),
            }
    if entries == context.get(DELIVERIES, {}) and not rows:
        return context, []
    settled = {key: value for key, value in context.items() if key != DELIVERIES}
    if entries:
        settled[DELIVERIES] = entries
    return settled, rows


def _others_hear(event: Event) -> bool:
    """Whether a service (not only the monitor) subscribes to the event."""
    return any(sub.kind != "observer" for sub in eventbus.subscribers(event.type))


class MonitorBusy(Exception):
    """Other writers kept changing the saga; the delivery is retried later."""


def seen_types(context: dict[str, Any]) -> set[str]:
    return set(context.get("events", {}))


def with_event(context: dict[str, Any], event: Event) -> dict[str, Any]:
    """The saga context with `event` added to what the monitor has seen."""
    events = dict(context.get("events", {}))
    events[event.type] = {
        "id": event.id,
        "sequence": event.sequence,
        "source": event.source,
        "occurred_at": event.occurred_at,
    }
    results = {**context.get("results", {}), event.type: dict(event.data)}
    return {**context, "events": events, "results": results}


def view(saga: SagaInstance, context: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The saga's columns as the events in `context` say they should be."""
    flow = flow_for(saga)
    events = context.get("events", {})
    status = flow.status_for(events, failed=bool(context.get("failure")))
    fields: dict[str, Any] = {"status": status, "context": context}
    if events:
        latest_type, latest = max(events.items(), key=lambda item: (item[1]["sequence"], item[1]["occurred_at"]))
        fields["current_step"] = latest_type
        fields["step_index"] = latest["sequence"]
    if status in (SagaStatus.COMPENSATING, SagaStatus.COMPENSATED):
        fields["direction"] = Direction.COMPENSATION
    elif status != SagaStatus.FAILED:
        fields["direction"] = Direction.FORWARD
    error = ""
    refusals = [kind for kind in flow.refusals if kind in events]
    if refusals:
        data = context.get("results", {}).get(refusals[0], {})
        refusal = f"{refusals[0]}: {data.get('message', '')}".strip()
        if not context.get(transitions.COMPENSATION_CAUSE):
            context = transitions.with_compensation_cause(context, refusal)
            fields["context"] = context
        if not context.get("failure"):
            error = refusal
    # The rule the orchestration runner follows: none once completed, the cause once compensated.
    last_error = transitions.last_error_after(status, error, context)
    if last_error is not None:
        fields["last_error"] = last_error
    if status in TERMINAL_STATUSES:
        fields["finished_at"] = saga.finished_at or now
    else:
        fields["finished_at"] = None
    return fields


def fenced_update(saga: SagaInstance, now: datetime, **fields: Any) -> bool:
    """Apply `fields` if nobody changed the saga since it was read; False otherwise."""
    moved = store.fenced_update(saga, now, **fields)
    if moved:
        _log_finished(saga, fields)
    return moved


def _log_finished(saga: SagaInstance, fields: dict[str, Any]) -> None:
    """Log a move that `fields` made of the saga, if it finished it."""
    if fields.get("status") in TERMINAL_STATUSES and saga.status not in TERMINAL_STATUSES:
        with saga_log_context(str(saga.pk)):
            logger.info("choreographed saga %s", str(fields["status"]).lower())


def _parse_time(text: str, default: datetime) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return default


def event_log(saga: SagaInstance, event: Event, now: datetime) -> SagaStepLog:
    """The step log row of one event: when it happened, and when the monitor heard of it."""
    flow = flow_for(saga)
    message = str(event.data.get("message", "")) if event.type in flow.refusals else ""
    return SagaStepLog(
        saga=saga,
        step_name=event.type,
        step_index=event.sequence,
        direction=Direction.EVENT,
        status=flow.step_status(event.type),
        idempotency_key=event.id,
        started_at=min(_parse_time(event.occurred_at, now), now),
        finished_at=now,
        result=dict(event.data),
        error_message=message,
        worker=event.source,
    )


def _fenced_change(
    saga_id: str,
    change: Callable[[SagaInstance, datetime], tuple[str, dict | None, list]],
    *,
    run: DeliveryRun | None = None,
    delivering: Any = _KEEP,
) -> str:
    """Run `change` on a fresh read of the saga until its fenced update lands.

    The same write names the delivery run on the saga (`delivering`: the event it now hands
    to the services, None when it moves off) and logs the runs of others that were cut short.
    """
    for _ in range(_FENCE_TRIES):
        with store.writing():
            saga = store.read_saga(saga_id)
            if saga is None:
                logger.warning("event for unknown saga %s ignored", saga_id)
                return "unknown saga"
            now = timezone.now()
            answer, fields, rows = change(saga, now)
            before = fields.get("context", saga.context) if fields else saga.context
            # A repeat of an event leaves the run's entry as it was (and costs no write).
            named = _KEEP if answer == "duplicate" else delivering
            context, abandoned = _settle_deliveries(saga, before, now, run, named)
            if context is not before:
                fields = {**(fields or {}), "context": context}
            if fields is None:
                return answer
            if store.apply(SagaWrite(str(saga.pk), saga.version, fields, now, notes=[*rows, *abandoned])).moved:
                _log_finished(saga, fields)
                if run is not None:
                    if run.worker in context.get(DELIVERIES, {}):
                        run.open.add(str(saga_id))
                    else:
                        run.open.discard(str(saga_id))
                return answer
    raise MonitorBusy(f"saga {saga_id} kept changing under the monitor")


def record_event(event: Event) -> str:
    """Add an event to its saga's step log and move the saga's status to what the events say."""

    def change(saga: SagaInstance, now: datetime) -> tuple[str, dict | None, list]:
        if any(seen.get("id") == event.id for seen in saga.context.get("events", {}).values()):
            return "duplicate", None, []
        context = with_event(saga.context, event)
        return "recorded", view(saga, context, now), [event_log(saga, event, now)]

    run = _run.get()
    # A new event names the run on the saga while its services hear it; a repeat changes nothing.
    seen = _KEEP
    if run is not None:
        seen = event if _others_hear(event) else None
    return _fenced_change(event.saga_id, change, run=run, delivering=seen)


def record_attempt(
    event: Event,
    sub: Subscription,
    attempt: int,
    status: str,
    error: str,
    traceback: str = "",
    dead: bool = False,
) -> str:
    """Log a handler attempt that did not act; `dead` stops the saga as FAILED for an operator.

    A dead delivery is kept in the saga's context so `resume` can deliver it again.
    """

    def change(saga: SagaInstance, now: datetime) -> tuple[str, dict | None, list]:
        row = SagaStepLog(
            saga=saga,
            step_name=sub.step or sub.name,
            step_index=event.sequence,
            direction=Direction.EVENT,
            attempt=attempt,
            status=status,
            idempotency_key=event_key(event.saga_id, sub.step, sub.compensate) if sub.step else "",
            started_at=now,
            finished_at=now,
            result={"event": event.type, "event_id": event.id, "handler": sub.name},
            error_message=DELIVERY_FAILED % {"handler": sub.name, "event": event.type, "error": error},
            traceback=traceback,
            worker=new_worker_id(),
        )
        # A late attempt on a finished saga does not change why it finished.
        fields: dict[str, Any] = {
            "last_error": transitions.last_error_after(saga.status, row.error_message, saga.context)
        }
        if dead and saga.status not in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED):
            context = dict(saga.context)
            context["failure"] = {"handler": sub.name, "event_type": event.type, "error": error}
            letters = [letter for letter in context.get("dead_letters", []) if letter["event"]["id"] != event.id]
            context["dead_letters"] = [*letters, {"handler": sub.name, "event": event.as_dict()}]
            fields.update(view(saga, context, now))
            fields["last_error"] = row.error_message
        return "recorded", fields, [row]

    with saga_log_context(event.saga_id, sub.step or sub.name, attempt):
        if dead:
            logger.error("choreographed saga stopped: %s on %s: %s", sub.name, event.type, error)
        return _fenced_change(event.saga_id, change, run=_run.get())


def settle_deliveries(saga_id: str) -> str:
    """Log the delivery runs on the saga that were cut short; one read, and a write only if there are some.

    Called when a delivery turns out to be a repeat (a service already acted on the event),
    which is how the task of a killed worker comes back, so no other write may follow.
    """
    return _fenced_change(saga_id, lambda saga, now: ("settled", None, []), run=_run.get())


def handle_event(event: Event) -> str | None:
    """The monitor's subscription: record every event of every choreographed saga."""
    record_event(event)
    return None


MONITOR = Subscription(
    name="sagas.monitor",
    event_types=("*",),
    handle=handle_event,
    kind="observer",
    max_attempts=10,
    step="",
)
