"""Starting and acting on choreographed sagas: the monitor's side of a registered flow.

The monitor publishes only the two requests (the customer's order, an operator's or the
deadline's cancel); the services do the rest among themselves. A request is a queued
delivery written in the same transaction on `default` as the saga row and its step log,
which with django-q2's ORM broker is the monitor's transactional outbox.
"""

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas.choreography import monitor
from sagas.choreography.flow import flow_for, flow_named, outboxes
from sagas.engine import notes, store, transitions
from sagas.engine.definition import get_definition
from sagas.errors import ActionNotAllowed
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog, SagaStyle, StepStatus, status_code_name
from sagas.participant import eventbus
from sagas.participant.outbox import Event
from sagas.services import fresh_deadline

# Why an orchestration-only action is refused for a choreographed saga.
NOT_FOR_CHOREOGRAPHY = {
    "retry": gettext_lazy(
        "A choreographed saga has no step of its own to retry: its services react to events. "
        "Resume it to deliver its events again, including those a service gave up on."
    ),
    "pause": gettext_lazy("A choreographed saga has no driver to pause: each service reacts to events on its own."),
    "unpause": gettext_lazy("A choreographed saga is never paused."),
    "skip_step": gettext_lazy("A choreographed saga has no step to skip: only the services can change their own data."),
    "edit_input": gettext_lazy(
        "A choreographed saga's input is already in the events the services received; it cannot be edited."
    ),
}


def refusal_for(action: str) -> str:
    """The reason an action is refused for a choreographed saga."""
    reason = NOT_FOR_CHOREOGRAPHY.get(action)
    if reason is None:
        return _("%(action)s does not apply to a choreographed saga.") % {"action": action}
    return str(reason)


def _audit(saga: SagaInstance, action: str, actor: str, reason: str, details: dict[str, Any]) -> SagaStepLog:
    now = timezone.now()
    return SagaStepLog(
        saga=saga,
        step_name=saga.current_step,
        step_index=saga.step_index,
        direction=Direction.OPERATOR,
        status=StepStatus.RECORDED,
        started_at=now,
        finished_at=now,
        action=action,
        actor=actor or "unknown",
        reason=reason,
        result=details,
    )


def _send(context: dict[str, Any], event: Event) -> dict[str, Any]:
    """Queue a request to the services (not to the monitor, which records it here)."""
    eventbus.enqueue_deliveries(event, skip=(monitor.MONITOR.name,))
    context = monitor.with_event(context, event)
    return {**context, "sent": [*context.get("sent", []), event.as_dict()]}


def choreography_start(
    saga_input: dict[str, Any],
    idempotency_key: str | None = None,
    *,
    definition_name: str | None = None,
    business_key: uuid.UUID | str | None = None,
    party: str = "",
) -> tuple[SagaInstance, bool]:
    """Open a choreographed saga and publish its flow's request (without a name, of the one flow registered).

    The same idempotency key gives back the saga it first started; the boolean says
    whether this call created it.
    """
    if idempotency_key:
        existing = SagaInstance.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    flow = flow_named(definition_name)
    definition = get_definition(flow.definition_name)
    saga_id = uuid.uuid4()
    now = timezone.now()
    request = flow.build_event(flow.request_event, str(saga_id), saga_input, 1, None)
    try:
        with transaction.atomic(using="default"):
            saga = SagaInstance(
                id=saga_id,
                definition_name=definition.name,
                definition_version=definition.version,
                style=SagaStyle.CHOREOGRAPHY,
                status=SagaStatus.PENDING,
                idempotency_key=idempotency_key or None,
                business_key=business_key,
                party=party,
                current_step=flow.request_event,
                step_index=1,
                deadline_at=fresh_deadline(definition, now),
            )
            saga.context = _send({"input": saga_input, "results": {}}, request)
            store.insert_saga(saga, monitor.event_log(saga, request, now))
    except IntegrityError:
        existing = SagaInstance.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    return saga, True


def _next_sequence(context: dict[str, Any]) -> int:
    return max((seen["sequence"] for seen in context.get("events", {}).values()), default=0) + 1


def compensate_refusal(saga: SagaInstance) -> str | None:
    """Why "compensate now" cannot publish a cancel for this saga, or None if it can."""
    flow = flow_for(saga)
    seen = monitor.seen_types(saga.context)
    if saga.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED):
        return _("A %(status)s saga cannot be compensated.") % {"status": status_code_name(saga.status)}
    if saga.status == SagaStatus.FAILED:
        return _(
            "A service gave up on this saga; compensating again would not reach it. "
            "Resume it to deliver the event that failed once the cause is fixed."
        )
    if flow.pivot_event in seen:
        return _(flow.past_pivot)  # the flow's own text, translated by its app's catalogue
    if flow.cancel_request_event in seen:
        return _("A cancel was already requested; resume the saga to deliver it again.")
    if saga.status == SagaStatus.COMPENSATING:
        return _("The saga is already compensating: its services are undoing their work.")
    return None


def request_cancel(saga: SagaInstance, actor: str, reason: str, cause: str = "") -> dict[str, Any]:
    """The saga context after queueing a cancel request; call inside a transaction on `default`.

    `cause` is what the saga's last error says once it is compensated (by default, who asked
    and why), unless something turned it back before.
    """
    flow = flow_for(saga)
    cancel = flow.build_event(
        flow.cancel_request_event,
        str(saga.pk),
        saga.context.get("input", {}),
        _next_sequence(saga.context),
        {"actor": actor, "reason": reason},
    )
    context = _send(saga.context, cancel)
    store.append_log(monitor.event_log(saga, cancel, timezone.now()))
    said = notes.COMPENSATED_BY % {"actor": actor, "reason": reason}
    if not context.get(transitions.COMPENSATION_CAUSE):
        context = transitions.with_compensation_cause(context, cause or said)
    return {**context, "compensation_reason": said}


def choreography_compensate(saga: SagaInstance, actor: str, reason: str) -> SagaInstance:
    """Publish the cancel request: each service then undoes its own work.

    Called by sagas.services.saga_compensate inside its transaction on `default`.
    """
    refusal = compensate_refusal(saga)
    if refusal:
        raise ActionNotAllowed(refusal)
    now = timezone.now()
    context = request_cancel(saga, actor, reason)
    if not monitor.fenced_update(saga, now, **monitor.view(saga, context, now)):
        raise ActionNotAllowed(_("The saga changed while you were acting on it; look again and retry."))
    planned = flow_for(saga).compensations_planned()
    store.append_log(_audit(saga, "compensate", actor, reason, {"compensations": planned}))
    return SagaInstance.objects.get(pk=saga.pk)


def saga_events(saga: SagaInstance) -> list[Event]:
    """Every event of the saga still kept: the monitor's requests, the services' outboxes and the deliveries given up.

    A delivery a service gave up on is kept in the saga's context as well as in its
    publisher's outbox, so it can be delivered again after the outbox row is gone. Each event
    appears once.
    """
    events = {event.id: event for event in (Event.from_dict(payload) for payload in saga.context.get("sent", []))}
    for outbox in outboxes():
        events.update((event.id, event) for event in outbox.events(saga.pk))
    for letter in saga.context.get("dead_letters", []):
        event = Event.from_dict(letter["event"])
        events.setdefault(event.id, event)
    return sorted(events.values(), key=lambda event: (event.sequence, event.occurred_at))


def redeliver(saga: SagaInstance, now: Any, events: list[Event] | None = None) -> tuple[int, dict[str, Any]]:
    """Queue every event of the saga again to all its subscribers; call inside a transaction.

    Subscribers that already acted skip a repeat (inbox, idempotency keys), so this only
    moves what was lost or given up. Returns the count and the saga fields to write.
    """
    events = saga_events(saga) if events is None else events
    for event in events:
        eventbus.enqueue_deliveries(event)
    context = {key: value for key, value in saga.context.items() if key not in ("failure", "dead_letters")}
    return len(events), monitor.view(saga, context, now)


def resume_refusal(saga: SagaInstance, events: list[Event] | None = None) -> str | None:
    """Why "resume" cannot move this saga, or None if it can; `events` defaults to saga_events(saga).

    Resuming clears a failure only when the event the service gave up on can be delivered
    again: otherwise the saga would leave the "needs attention" list with nobody to undo it.
    """
    if saga.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED):
        return _("Only a saga still in progress or FAILED can be resumed; this one is %(status)s.") % {
            "status": status_code_name(saga.status)
        }
    events = saga_events(saga) if events is None else events
    failure = saga.context.get("failure")
    if failure and failure.get("event_type") not in {event.type for event in events}:
        return _(
            "The %(event)s event that %(handler)s gave up on is kept nowhere "
            "(its outbox row was purged and the saga holds no copy), so resuming would deliver nothing to it. "
            "Do its work by hand, then mark the saga resolved."
        ) % {"event": failure.get("event_type"), "handler": failure.get("handler")}
    if not events:
        return _("No event of this saga is kept any more, so resuming would deliver nothing.")
    return None


def choreography_resume(saga: SagaInstance, actor: str, reason: str) -> SagaInstance:
    """Deliver the saga's events again, including any a service gave up on (a FAILED saga).

    Called by sagas.services.saga_resume inside its transaction on `default`.
    """
    events = saga_events(saga)
    refusal = resume_refusal(saga, events)
    if refusal:
        raise ActionNotAllowed(refusal)
    now = timezone.now()
    count, fields = redeliver(saga, now, events)
    if not monitor.fenced_update(saga, now, **fields, resolved_at=None, resolved_by=""):
        raise ActionNotAllowed(_("The saga changed while you were acting on it; look again and retry."))
    store.append_log(_audit(saga, "resume", actor, reason, {"redelivered": count}))
    return SagaInstance.objects.get(pk=saga.pk)


def choreography_compensations_planned(saga: SagaInstance) -> list[str]:
    """What "compensate now" makes the services undo."""
    return flow_for(saga).compensations_planned()


def choreography_compensation_plan(saga: SagaInstance | None = None) -> tuple[str, list[str]]:
    """How "compensate now" undoes a choreographed saga, in words: a heading and one line per stage.

    The admin's confirmation page and `compensate_saga` both show this text, so they cannot
    disagree. It is read from the services' subscriptions to each event of the flow's cancel
    chain (the saga's flow; without a saga, the one flow registered): the services that hear
    the same event undo their parts at the same time.
    """
    flow = flow_for(saga) if saga is not None else flow_named()
    lines: list[str] = []
    for event_type in flow.cancel_chain:
        undoers = [sub for sub in eventbus.subscribers(event_type) if sub.compensate]
        if not undoers:
            continue
        undone = [
            _("%(compensation)s (undoes %(step)s)") % {"compensation": sub.name, "step": sub.step} for sub in undoers
        ]
        names = get_text_list(undone, _("and"))  # "a, b and c", in the reader's language
        values = {"event": event_type, "names": names}
        if len(undoers) > 1:
            line = (
                _("Then, on %(event)s: %(names)s, at the same time.")
                if lines
                else _("First, on %(event)s: %(names)s, at the same time.")
            )
        else:
            line = _("Then, on %(event)s: %(names)s.") if lines else _("First, on %(event)s: %(names)s.")
        lines.append(line % values)
    return _("Publishes a cancel request; each service undoes its own part when it hears of the cancel:"), lines
