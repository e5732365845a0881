"""The worker tasks that hand an event to its subscribers: retries, timeouts, giving up.

Delivery is at least once. A handler that already acted on the event (its service's inbox
says so) is skipped. A transient failure is retried with backoff by queueing the delivery
again; when the attempts run out an action is given up (its service announces the failure
as an event, so the others compensate), while a compensation, or a step after the pivot,
stops the saga as FAILED with the event kept as a dead letter for `resume`. Every failed
attempt is reported to the saga monitor, so the step log shows it.
"""

import logging
import random
import time
import traceback as traceback_module
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction

from sagas.choreography import monitor
from sagas.engine.connections import reset_service_connections
from sagas.engine.lifecycle import cluster_stopping
from sagas.engine.timeouts import StepTimeout, call_with_timeout
from sagas.models import StepStatus
from sagas.ops.logging import saga_log_context
from sagas.participant import eventbus, outbox
from sagas.participant.eventbus import Subscription
from sagas.participant.outbox import Event
from sagas.participant.refusals import BusinessRefusal

logger = logging.getLogger("sagas.delivery")

T = TypeVar("T")


class DeliveryResult(StrEnum):
    """What one delivery of an event to one subscriber came to (the task's result, kept by django-q2)."""

    HANDLED = "handled"
    DUPLICATE = "duplicate"  # its service's inbox says it already acted on the event
    REFUSED = "refused"
    RETRYING = "retrying"  # queued again with backoff
    REQUEUED = "requeued"  # broke off inside a batch: queued on its own
    DROPPED = "dropped"  # the monitor ran out of attempts; the idle sweep delivers it later
    DEAD_LETTER = "dead letter"  # kept in the saga for `resume`
    GAVE_UP = "gave up"  # its service announced the failure, so the others compensate
    UNKNOWN_SUBSCRIPTION = "unknown subscription"


# Extra tries of a give-up (it only records a block and an event, so it rarely fails twice).
GIVE_UP_ATTEMPTS = 5


def backoff(attempt: int) -> float:
    """Seconds before the next attempt: exponential from 0.2 s, capped at 10 s, jittered."""
    base = min(10.0, 0.2 * (2 ** max(attempt - 1, 0)))
    return base * (1 - 0.5 * random.random())


def _requeue(sub: Subscription, event: Event, attempt: int) -> None:
    with transaction.atomic(using="default"):
        eventbus.enqueue_task(eventbus.DELIVER_TASK, (sub.name, event.as_dict(), attempt), backoff(attempt - 1))


def _describe(error: BaseException) -> str:
    message = error.message if isinstance(error, BusinessRefusal) else str(error)
    return f"{type(error).__name__}: {message}"


def deliver_event(payload: dict[str, Any], skip: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """Hand the event to each of its subscribers in turn; say what each did.

    The saga monitor goes first, as it is quick. A subscriber whose delivery could not even
    be reported gets a delivery task of its own, so one failure never starves the others.
    The events the subscribers publish are delivered next by this same task (see
    `deliver_followups`).
    """
    return _then_what_it_published(lambda: _deliver_to_subscribers(payload, skip))


def _then_what_it_published(deliver_now: Callable[[], T]) -> T:
    """Run a delivery, then deliver what its handlers published (unless an outer task does).

    The monitor names the run on each saga it delivers events of while services still have
    them to hear (see sagas.choreography.monitor.delivery_run), so a run cut short is logged ABANDONED.
    """
    with monitor.delivery_run(), outbox.relay_inline() as followups:
        result = deliver_now()
        if followups is not None:
            deliver_followups(followups)
    return result


def deliver_followups(followups: deque[outbox.InlineEvent]) -> int:
    """Deliver the events this task's handlers published, and theirs in turn, without the queue.

    Each outbox row is marked delivered only after its delivery, so a worker killed here
    leaves the rest pending for the sweep. The task stops within its budget, or when the
    cluster is stopping; what is left then goes to the queue. Returns how many it delivered.
    """
    deadline = time.monotonic() + settings.SAGA_TASK_BUDGET_SECONDS
    delivered = 0
    while followups and time.monotonic() < deadline and not cluster_stopping():
        outbox_model, alias, event = followups.popleft()
        _deliver_to_subscribers(event.as_dict(), ())
        outbox.mark_delivered(outbox_model, alias, event)
        delivered += 1
    return delivered


def _deliver_to_subscribers(payload: dict[str, Any], skip: list[str] | tuple[str, ...]) -> dict[str, DeliveryResult]:
    event = Event.from_dict(payload)
    subs = sorted(eventbus.subscribers(event.type), key=lambda sub: sub.kind != "observer")
    outcomes = {}
    for sub in subs:
        if sub.name in skip:
            continue
        try:
            outcomes[sub.name] = _deliver_once(sub.name, payload, 1)
        except Exception as error:
            logger.warning("delivery of %s to %s broke off: %s; queued on its own", event.type, sub.name, error)
            _requeue(sub, event, 2)
            outcomes[sub.name] = DeliveryResult.REQUEUED
    return outcomes


def deliver(name: str, payload: dict[str, Any], attempt: int = 1) -> DeliveryResult:
    """Run the subscription `name` on the event, once, and say what happened; then what it published."""
    return _then_what_it_published(lambda: _deliver_once(name, payload, attempt))


def _deliver_once(name: str, payload: dict[str, Any], attempt: int) -> DeliveryResult:
    sub = eventbus.subscription(name)
    if sub is None:
        logger.error("no subscription named %s; event %s dropped", name, payload.get("id"))
        return DeliveryResult.UNKNOWN_SUBSCRIPTION
    event = Event.from_dict(payload)
    with saga_log_context(event.saga_id, sub.step or sub.name, attempt):
        if sub.handled is not None and sub.handled(event.id, sub.name):
            # A repeat is how a killed worker's delivery comes back: log that run as cut short.
            monitor.settle_deliveries(event.saga_id)
            return DeliveryResult.DUPLICATE
        if attempt > sub.max_attempts:
            return _give_up(sub, event, attempt, f"gave up after {sub.max_attempts} failed attempts")
        try:
            note = call_with_timeout(lambda: sub.handle(event), sub.timeout_seconds)
        except BusinessRefusal as refusal:
            # Handlers turn the refusals they expect into events; any other one needs a person.
            logger.warning("%s refused %s: %s", sub.name, event.type, refusal.message)
            monitor.record_attempt(event, sub, attempt, StepStatus.REFUSED, _describe(refusal), dead=True)
            return DeliveryResult.REFUSED
        except Exception as error:
            timed_out = isinstance(error, StepTimeout)
            reset_service_connections(force=timed_out)
            status = StepStatus.TIMED_OUT if timed_out else StepStatus.FAILED
            logger.warning("%s failed on %s (attempt %s): %s", sub.name, event.type, attempt, _describe(error))
            trace = traceback_module.format_exc()
            if sub.kind == "observer":
                # The monitor reports to nobody: it is retried, and the idle sweep re-delivers later.
                if attempt < sub.max_attempts:
                    _requeue(sub, event, attempt + 1)
                    return DeliveryResult.RETRYING
                logger.error("%s dropped %s %s after %s attempts", sub.name, event.type, event.id, attempt)
                return DeliveryResult.DROPPED
            if attempt < sub.max_attempts or sub.give_up is not None:
                _requeue(sub, event, attempt + 1)
                monitor.record_attempt(event, sub, attempt, status, _describe(error), traceback=trace)
                return DeliveryResult.RETRYING
            monitor.record_attempt(event, sub, attempt, status, _describe(error), traceback=trace, dead=True)
            return DeliveryResult.DEAD_LETTER
        if note:
            monitor.record_attempt(event, sub, attempt, StepStatus.REFUSED, note)
        return DeliveryResult.HANDLED


def _give_up(sub: Subscription, event: Event, attempt: int, reason: str) -> DeliveryResult:
    """Give the action up: its service blocks it and announces the failure as an event."""
    if sub.give_up is None:
        monitor.record_attempt(event, sub, attempt, StepStatus.FAILED, reason, dead=True)
        return DeliveryResult.DEAD_LETTER
    try:
        call_with_timeout(lambda: sub.give_up(event, reason), sub.timeout_seconds)
    except Exception as error:
        reset_service_connections(force=isinstance(error, StepTimeout))
        if attempt < sub.max_attempts + GIVE_UP_ATTEMPTS:
            _requeue(sub, event, attempt + 1)
            monitor.record_attempt(event, sub, attempt, StepStatus.FAILED, f"giving up failed: {_describe(error)}")
            return DeliveryResult.RETRYING
        text = f"giving up failed: {_describe(error)}"
        monitor.record_attempt(event, sub, attempt, StepStatus.FAILED, text, dead=True)
        return DeliveryResult.DEAD_LETTER
    logger.warning("%s gave up on %s: %s", sub.name, event.type, reason)
    return DeliveryResult.GAVE_UP
