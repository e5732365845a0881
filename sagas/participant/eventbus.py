"""Who listens to which event, and how a delivery gets into the worker queue.

Each service declares its subscriptions in its own `handlers.py` (found on first use, like
admin modules). An event is one queued task (`DELIVER_EVENT_TASK`) that hands it to each of
its subscribers in turn; a subscriber that fails gets its own retry task (`DELIVER_TASK`),
so it is retried without repeating the others. Both tasks are entry points in `sagas.tasks`
that call `sagas.choreography.delivery`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import autodiscover_modules
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from sagas.engine import queue
from sagas.participant.outbox import Event

# Stored in queued task rows: django-q2 entry points live in sagas.tasks, whose paths never move.
DELIVER_EVENT_TASK = "sagas.tasks.deliver_event"
DELIVER_TASK = "sagas.tasks.deliver"
ANY_EVENT = "*"

Handler = Callable[[Event], str | None]
GiveUp = Callable[[Event, str], None]


@dataclass(frozen=True)
class Subscription:
    """One handler of a service and the event types it reacts to.

    `kind` says what a failure means: an "action" that cannot be done is given up with
    `give_up` (which announces the failure as an event); a "compensation" or a step after
    the pivot that runs out of attempts stops the saga for an operator; an "observer" only
    watches. `handled` tells from the service's inbox whether an event was already acted on.
    """

    name: str
    event_types: tuple[str, ...]
    handle: Handler
    kind: str = "action"
    max_attempts: int = 3
    give_up: GiveUp | None = None
    handled: Callable[[str, str], bool] | None = None
    step: str = ""
    compensate: bool = False
    timeout_seconds: float = 10.0


_by_name: dict[str, Subscription] = {}
_loaded = {"done": False}


def subscribe(subscription: Subscription) -> Subscription:
    """Register a subscription; registering the same one again is harmless."""
    existing = _by_name.get(subscription.name)
    if existing is not None and existing.handle is not subscription.handle:
        raise ValueError(f"A subscription named {subscription.name!r} already exists.")
    _by_name[subscription.name] = subscription
    return subscription


def _ensure_loaded() -> None:
    if not _loaded["done"]:
        autodiscover_modules("handlers")
        _loaded["done"] = True


def subscription(name: str) -> Subscription | None:
    _ensure_loaded()
    return _by_name.get(name)


def subscribers(event_type: str) -> list[Subscription]:
    """Every subscription that receives events of this type, in a stable order."""
    _ensure_loaded()
    return sorted(
        (sub for sub in _by_name.values() if event_type in sub.event_types or ANY_EVENT in sub.event_types),
        key=lambda sub: sub.name,
    )


def enqueue_deliveries(event: Event, skip: tuple[str, ...] = ()) -> int:
    """Queue the delivery of `event` to its subscribers (but `skip`); returns how many it will reach."""
    count = sum(1 for sub in subscribers(event.type) if sub.name not in skip)
    if count:
        enqueue_task(DELIVER_EVENT_TASK, (event.as_dict(), list(skip)))
    return count


def enqueue_task(func: str, args: tuple[Any, ...], delay_seconds: float = 0.0) -> None:
    """Queue `func(*args)`, now or after a delay, in the caller's transaction on `default` (see sagas.engine.queue)."""
    queue.enqueue_task(func, args, name="event", delay_seconds=delay_seconds)


def queued_saga_ids() -> set[str]:
    """Sagas with an event delivery in the ORM queue, waiting or being run (claimed, not acked).

    Such a saga is not lost: its delivery runs, or django-q2 hands it out again after its
    `retry` lease when the worker that took it died.
    """
    ids = set()
    for payload in OrmQ.objects.using("default").values_list("payload", flat=True).iterator(chunk_size=2000):
        task = SignedPackage.loads(payload)
        if task.get("func") == DELIVER_EVENT_TASK:
            ids.add(task["args"][0]["saga_id"])
        elif task.get("func") == DELIVER_TASK:
            ids.add(task["args"][1]["saga_id"])
    return ids
