"""The transactional outbox and inbox that choreographed services share.

A service that acts on an event records, in the same local transaction as its effect, the
event it handled (inbox) and the event it publishes (outbox). Nothing is published outside
that transaction, so an effect and its announcement exist together or not at all. Right
after the commit a relay hands the new outbox rows to the worker queue, or, inside a worker
that is delivering events (`relay_inline`), to that worker itself, which delivers them next
without a trip through the queue; a sweep relays whatever a crash left behind. Delivery is
therefore at least once, and the inbox plus the idempotency keys make a repeat do nothing.

Events are versioned JSON envelopes. `sequence` is the event's causal position in its saga
(one more than the event that caused it, a Lamport clock), so events sort into the order in
which they happened along each chain of cause and effect.
"""

import logging
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

SCHEMA_VERSION = 1

logger = logging.getLogger("sagaproject.outbox")

# Set while a worker delivers events itself: what it commits is handed to it, not queued.
_inline: ContextVar[deque | None] = ContextVar("outbox_inline_relay", default=None)


def event_key(saga_id: str, step: str, compensate: bool = False) -> str:
    """The idempotency key a service uses for one step of a saga it reacts to."""
    return f"saga:{saga_id}:{step}:{'compensate' if compensate else 'action'}"


@dataclass(frozen=True)
class Event:
    """One published fact of a saga, as it travels between services."""

    id: str
    type: str
    source: str
    saga_id: str
    order_id: str
    sequence: int
    occurred_at: str
    causation_id: str | None = None
    order: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    def as_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["order"], payload["data"] = dict(self.order), dict(self.data)
        return payload

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> "Event":
        if payload.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"Unknown event schema {payload.get('schema')!r}; this build reads {SCHEMA_VERSION}.")
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{name: value for name, value in payload.items() if name in known})


def new_event(
    event_type: str,
    *,
    source: str,
    saga_id: str,
    order_id: str,
    sequence: int,
    order: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
    causation_id: str | None = None,
) -> Event:
    """A fresh event with its own id and timestamp."""
    return Event(
        id=str(uuid.uuid4()),
        type=event_type,
        source=source,
        saga_id=str(saga_id),
        order_id=str(order_id),
        sequence=sequence,
        occurred_at=timezone.now().isoformat(),
        causation_id=causation_id,
        order=dict(order),
        data=dict(data or {}),
    )


class OutboxEventBase(models.Model):
    """An event a service published, waiting for the relay or kept for a while after."""

    id = models.UUIDField(
        primary_key=True,
        editable=False,
        verbose_name=gettext_lazy("event id"),
        help_text=gettext_lazy("The event's id."),
    )
    event_type = models.CharField(max_length=64, verbose_name=gettext_lazy("event type"))
    saga_id = models.UUIDField(db_index=True, verbose_name=gettext_lazy("saga id"))
    sequence = models.PositiveIntegerField(
        verbose_name=gettext_lazy("sequence"), help_text=gettext_lazy("Causal position in the saga.")
    )
    payload = models.JSONField(
        verbose_name=gettext_lazy("payload"), help_text=gettext_lazy("The versioned event envelope, as delivered.")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=gettext_lazy("created at"))
    delivered_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name=gettext_lazy("handed to the workers at"),
        help_text=gettext_lazy("When the relay queued it."),
    )
    delivery_count = models.PositiveIntegerField(
        default=0,
        verbose_name=gettext_lazy("times handed on"),
        help_text=gettext_lazy("How often the relay queued it."),
    )

    class Meta:
        abstract = True
        ordering = ["created_at"]
        constraints = [
            # One fact per saga and type: each is published by one idempotency key's effect.
            models.UniqueConstraint(fields=["saga_id", "event_type"], name="%(app_label)s_one_event_per_type"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="%(app_label)s_outbox_pending",
                condition=models.Q(delivered_at__isnull=True),
            ),
            models.Index(fields=["delivered_at"], name="%(app_label)s_outbox_delivered"),
        ]

    def __str__(self) -> str:
        return gettext("%(type)s #%(sequence)s of saga %(saga)s") % {
            "type": self.event_type,
            "sequence": self.sequence,
            "saga": self.saga_id,
        }


class InboxEventBase(models.Model):
    """An event a service acted on, recorded with the effect it caused."""

    event_id = models.UUIDField(verbose_name=gettext_lazy("event id"))
    handler = models.CharField(max_length=64, verbose_name=gettext_lazy("handler"))
    event_type = models.CharField(max_length=64, verbose_name=gettext_lazy("event type"))
    saga_id = models.UUIDField(db_index=True, verbose_name=gettext_lazy("saga id"))
    idempotency_key = models.CharField(
        max_length=200, blank=True, default="", verbose_name=gettext_lazy("idempotency key")
    )
    handled_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=gettext_lazy("handled at"))

    class Meta:
        abstract = True
        ordering = ["handled_at"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "handler"], name="%(app_label)s_handle_event_once"),
        ]

    def __str__(self) -> str:
        return gettext("%(handler)s handled %(type)s %(event)s") % {
            "handler": self.handler,
            "type": self.event_type,
            "event": self.event_id,
        }


@dataclass(frozen=True)
class Reaction:
    """What a service records with its effect when it acts on `cause`.

    `on_applied` is published when the effect applies (for a compensation: when it runs,
    even as a no-op); `on_refused` when the operation is refused for a business reason.
    """

    cause: Event
    handler: str
    on_applied: str | None = None
    on_refused: str | None = None


Hook = Callable[[str, dict[str, Any]], None]


def recorder(
    outbox_model: type[OutboxEventBase],
    inbox_model: type[InboxEventBase],
    alias: str,
    source: str,
    reaction: Reaction | None,
    key: str = "",
) -> Hook | None:
    """The hook an idempotent operation calls inside its transaction once its outcome is recorded."""
    if reaction is None:
        return None

    def hook(outcome: str, result: dict[str, Any]) -> None:
        cause = reaction.cause
        inbox_model.objects.using(alias).create(
            event_id=cause.id,
            handler=reaction.handler,
            event_type=cause.type,
            saga_id=cause.saga_id,
            idempotency_key=key,
        )
        event_type = reaction.on_refused if outcome == "REFUSED" else reaction.on_applied
        if event_type:
            publish(
                outbox_model,
                alias,
                new_event(
                    event_type,
                    source=source,
                    saga_id=cause.saga_id,
                    order_id=cause.order_id,
                    sequence=cause.sequence + 1,
                    order=cause.order,
                    data=result,
                    causation_id=cause.id,
                ),
            )

    return hook


def publish(outbox_model: type[OutboxEventBase], alias: str, event: Event) -> None:
    """Write `event` to the outbox in the caller's transaction and relay it once that commits.

    Must run inside a transaction on `alias`: the row commits with the effect it announces.
    """
    if not transaction.get_connection(alias).in_atomic_block:
        raise RuntimeError("An event is published only inside the transaction of its effect.")
    outbox_model.objects.using(alias).create(
        id=event.id,
        event_type=event.type,
        saga_id=event.saga_id,
        sequence=event.sequence,
        payload=event.as_dict(),
    )
    # robust: a failed relay must not fail the committed effect; the sweep relays it later.
    transaction.on_commit(lambda: relay_committed(outbox_model, alias, event), using=alias, robust=True)


def relay_committed(outbox_model: type[OutboxEventBase], alias: str, event: Event) -> None:
    """Queue the delivery of an event whose row just committed, then mark the row delivered.

    The relay right after a commit already holds the event, so it reads nothing back.
    """
    from sagas.participant import eventbus

    collecting = _inline.get()
    if collecting is not None:
        # The row stays pending until the worker has delivered it: a crash leaves it to the sweep.
        collecting.append((outbox_model, alias, event))
        return
    with transaction.atomic(using="default"):
        eventbus.enqueue_deliveries(event)
    mark_delivered(outbox_model, alias, event)


def mark_delivered(outbox_model: type[OutboxEventBase], alias: str, event: Event) -> None:
    outbox_model.objects.using(alias).filter(pk=event.id, delivered_at__isnull=True).update(
        delivered_at=timezone.now(), delivery_count=models.F("delivery_count") + 1
    )


InlineEvent = tuple[type[OutboxEventBase], str, Event]


@contextmanager
def relay_inline() -> Iterator[deque[InlineEvent] | None]:
    """Within the block, events committed in this context are collected for the caller to deliver.

    Yields None inside an outer block, which collects them. Whatever the caller has not
    delivered when the block ends goes to the queue as usual.
    """
    if _inline.get() is not None:
        yield None
        return
    collected: deque[InlineEvent] = deque()
    token = _inline.set(collected)
    try:
        yield collected
    finally:
        _inline.reset(token)
        while collected:
            outbox_model, alias, event = collected.popleft()
            try:
                relay_committed(outbox_model, alias, event)
            except Exception:
                logger.exception("relay of %s %s failed; the sweep will relay it", event.type, event.id)


def pending(
    outbox_model: type[OutboxEventBase],
    alias: str,
    *,
    ids: list[str] | None = None,
    saga_id: str | None = None,
    older_than_seconds: float | None = None,
) -> models.QuerySet:
    """Outbox rows not yet handed to the queue, oldest first."""
    rows = outbox_model.objects.using(alias).filter(delivered_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    if saga_id is not None:
        rows = rows.filter(saga_id=saga_id)
    if older_than_seconds:
        rows = rows.filter(created_at__lte=timezone.now() - timedelta(seconds=older_than_seconds))
    return rows.order_by("created_at")


def relay(
    outbox_model: type[OutboxEventBase],
    alias: str,
    *,
    ids: list[str] | None = None,
    older_than_seconds: float | None = None,
    limit: int = 1000,
) -> list[Event]:
    """Queue a delivery of every pending row to each subscriber, then mark the rows delivered.

    The queue rows commit before the rows are marked, so a crash in between delivers twice
    (which subscribers tolerate) rather than never.
    """
    from sagas.participant import eventbus

    rows = list(pending(outbox_model, alias, ids=ids, older_than_seconds=older_than_seconds)[:limit])
    if not rows:
        return []
    events = [Event.from_dict(row.payload) for row in rows]
    with transaction.atomic(using="default"):
        for event in events:
            eventbus.enqueue_deliveries(event)
    outbox_model.objects.using(alias).filter(pk__in=[row.pk for row in rows], delivered_at__isnull=True).update(
        delivered_at=timezone.now(), delivery_count=models.F("delivery_count") + 1
    )
    return events


def purge(
    outbox_model: type[OutboxEventBase],
    inbox_model: type[InboxEventBase],
    alias: str,
    before: datetime,
    keep_saga_ids: Collection[uuid.UUID | str] = (),
) -> tuple[int, int]:
    """Delete delivered outbox rows and inbox rows older than `before`, but none of the sagas in `keep_saga_ids`.

    Returns both counts. The caller names the sagas whose events are still needed (one not
    finished may be resumed, which delivers them again); this database knows no saga states.
    """
    outbox_rows = outbox_model.objects.using(alias).filter(delivered_at__lt=before)
    inbox_rows = inbox_model.objects.using(alias).filter(handled_at__lt=before)
    if keep_saga_ids:
        keep = list(keep_saga_ids)
        outbox_rows = outbox_rows.exclude(saga_id__in=keep)
        inbox_rows = inbox_rows.exclude(saga_id__in=keep)
    outbox_deleted, _ = outbox_rows.delete()
    inbox_deleted, _ = inbox_rows.delete()
    return outbox_deleted, inbox_deleted
