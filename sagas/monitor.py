"""The saga monitor of choreographed sagas: every event and failed attempt becomes a step log row.

The monitor drives nothing. It keeps one SagaInstance per order up to date from the events
so the admin, the API and the commands show both styles alike. Several workers deliver
events of one saga at once, so each update is fenced by the saga's version: a writer that
read an older version changes nothing and tries again on a fresh read. The monitor's own
inbox is the saga's context: an event id it has seen is not recorded twice.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sagaproject.eventbus import Subscription
from sagaproject.outbox import Event, event_key
from sagas import order_choreography as flow
from sagas.logging import saga_log_context
from sagas.models import TERMINAL_STATUSES, Direction, SagaInstance, SagaStatus, SagaStepLog
from sagas.queue import new_worker_id

logger = logging.getLogger("sagas.monitor")

_FENCE_TRIES = 20


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
    refusals = [kind for kind in flow.REFUSALS if kind in events]
    if refusals and not context.get("failure"):
        data = context.get("results", {}).get(refusals[0], {})
        fields["last_error"] = f"{refusals[0]}: {data.get('message', '')}".strip()
    if status in TERMINAL_STATUSES:
        fields["finished_at"] = saga.finished_at or now
    else:
        fields["finished_at"] = None
    return fields


def fenced_update(saga: SagaInstance, now: datetime, **fields: Any) -> bool:
    """Apply `fields` if nobody changed the saga since it was read; False otherwise."""
    moved = SagaInstance.objects.filter(pk=saga.pk, version=saga.version).update(
        version=F("version") + 1, updated_at=now, **fields
    )
    if moved and fields.get("status") in TERMINAL_STATUSES and saga.status not in TERMINAL_STATUSES:
        with saga_log_context(str(saga.pk)):
            logger.info("choreographed saga %s", str(fields["status"]).lower())
    return bool(moved)


def _parse_time(text: str, default: datetime) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return default


def event_log(saga: SagaInstance, event: Event, now: datetime) -> SagaStepLog:
    """The step log row of one event: when it happened, and when the monitor heard of it."""
    message = str(event.data.get("message", "")) if event.type in flow.REFUSALS else ""
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


def _fenced_change(saga_id: str, change: Callable[[SagaInstance, datetime], tuple[str, dict | None, list]]) -> str:
    """Run `change` on a fresh read of the saga until its fenced update lands."""
    for _ in range(_FENCE_TRIES):
        with transaction.atomic(using="default"):
            saga = SagaInstance.objects.filter(pk=saga_id).first()
            if saga is None:
                logger.warning("event for unknown saga %s ignored", saga_id)
                return "unknown saga"
            now = timezone.now()
            answer, fields, rows = change(saga, now)
            if fields is None:
                return answer
            if fenced_update(saga, now, **fields):
                SagaStepLog.objects.bulk_create(rows)
                return answer
    raise MonitorBusy(f"saga {saga_id} kept changing under the monitor")


def record_event(event: Event) -> str:
    """Add an event to its saga's step log and move the saga's status to what the events say."""

    def change(saga: SagaInstance, now: datetime) -> tuple[str, dict | None, list]:
        if any(seen.get("id") == event.id for seen in saga.context.get("events", {}).values()):
            return "duplicate", None, []
        context = with_event(saga.context, event)
        return "recorded", view(saga, context, now), [event_log(saga, event, now)]

    return _fenced_change(event.saga_id, change)


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
            error_message=f"{sub.name} on {event.type}: {error}",
            traceback=traceback,
            worker=new_worker_id(),
        )
        fields: dict[str, Any] = {"last_error": row.error_message}
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
        return _fenced_change(event.saga_id, change)


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
