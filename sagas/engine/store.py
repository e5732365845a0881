"""The state store: every write of saga state (saga rows, their step log, their queue rows).

The engine decides what a saga becomes (`sagas.engine.runner`, the styles, the operator's
services); this module writes it, and is the only place that knows how. Every move of a saga
is fenced by the version its writer read: it lands whole if the saga still has that version,
and not at all otherwise.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F

from sagas.engine.queue import enqueue_saga
from sagas.models import SagaInstance, SagaStepLog, StepStatus


@dataclass
class SagaWrite:
    """One fenced move of a saga and the rows that go with it, written together or not at all."""

    saga_id: str
    version: int  # the version its writer read
    fields: dict[str, Any]  # the saga's columns to set; the version and updated_at are set here
    now: datetime
    # The attempt this move reports on: its log row's id and what to record on it.
    finish_attempt: tuple[int, dict[str, Any]] | None = None
    # Close the attempts still RUNNING that workers other than this one started.
    abandon_lost_of: str | None = None
    notes: Sequence[SagaStepLog] = ()  # log rows recorded with the move
    attempt: SagaStepLog | None = None  # the attempt this move opens: its id comes back
    enqueue_delay: float | None = None  # queue a run of the saga, after this many seconds


@dataclass(frozen=True)
class Written:
    moved: bool  # False: the saga had moved on since its writer read it; nothing was written
    attempt_id: int | None = None


def apply(write: SagaWrite) -> Written:
    """Write one move of a saga, fenced by its version."""
    with transaction.atomic(using="default", savepoint=False):
        moved = SagaInstance.objects.filter(pk=write.saga_id, version=write.version).update(
            version=F("version") + 1, updated_at=write.now, **write.fields
        )
        if not moved:
            return Written(moved=False)
        if write.abandon_lost_of is not None:
            _abandon_lost_attempts(write.saga_id, write.abandon_lost_of, write.now)
        if write.finish_attempt is not None:
            log_id, log_fields = write.finish_attempt
            SagaStepLog.objects.filter(pk=log_id).update(**log_fields)
        if write.notes:
            SagaStepLog.objects.bulk_create(write.notes)
        if write.attempt is not None:
            write.attempt.save(force_insert=True)
        if write.enqueue_delay is not None:
            enqueue_saga(write.saga_id, write.enqueue_delay)
    return Written(moved=True, attempt_id=write.attempt.pk if write.attempt is not None else None)


@contextmanager
def writing(*, durable: bool = False) -> Iterator[None]:
    """Around a read of a saga, what its reader decides, and the fenced write of it.

    A checkpoint is `durable`: its own transaction, committed when the block ends.
    """
    with transaction.atomic(using="default", durable=durable):
        yield


def read_saga(saga_id: str) -> SagaInstance | None:
    return SagaInstance.objects.filter(pk=saga_id).first()


def _abandon_lost_attempts(saga_id: str, owner: str, now: datetime) -> None:
    """Mark attempts of other workers that never reported back, so no log row runs forever.

    Written once the lease is ours: whoever ran them lost its lease (it died, or it will find
    its checkpoint fenced and record its own finish over this one).
    """
    SagaStepLog.objects.filter(saga_id=saga_id, status=StepStatus.RUNNING).exclude(worker=owner).update(
        status=StepStatus.ABANDONED,
        finished_at=now,
        error_message="The worker running this attempt stopped reporting before its lease ran out.",
    )


def record_late_answer(log_id: int, fields: dict[str, Any]) -> None:
    """Record on its log row the answer of an attempt whose checkpoint was fenced out."""
    SagaStepLog.objects.filter(pk=log_id).update(**fields)


def enqueue(saga_id: str, delay_seconds: float = 0.0) -> None:
    """Queue one more run of the saga, changing nothing else."""
    with transaction.atomic(using="default", savepoint=False):
        enqueue_saga(saga_id, delay_seconds)


def create_saga(saga: SagaInstance) -> SagaInstance:
    """Insert a new saga and queue its first run, together; IntegrityError for a taken idempotency key."""
    with transaction.atomic(using="default"):
        saga.save(force_insert=True)
        enqueue_saga(saga.pk)
    return saga


def fenced_update(saga: SagaInstance, now: datetime, **fields: Any) -> bool:
    """Set `fields` if nobody changed the saga since it was read; whether it did."""
    moved = SagaInstance.objects.filter(pk=saga.pk, version=saga.version).update(
        version=F("version") + 1, updated_at=now, **fields
    )
    return bool(moved)


def append_log(*rows: SagaStepLog) -> None:
    """Record rows in sagas' step logs (operator acts, system notes, events)."""
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    else:
        SagaStepLog.objects.bulk_create(rows)


def cut_short_attempts(saga_id: str, *, actor: str, action: str, reason: str, now: datetime) -> None:
    """Close the attempts in flight that an operator's action takes the saga away from.

    Called in the action's transaction. Their workers may still be running; their late
    checkpoints are fenced out, and the row keeps who cut them short and why.
    """
    SagaStepLog.objects.filter(saga_id=saga_id, status=StepStatus.RUNNING).update(
        status=StepStatus.ABANDONED,
        finished_at=now,
        actor=actor,
        error_message=(
            f"Cut short by {actor}'s {action} ({reason}) while it ran; an answer its worker sends later is not used."
        ),
    )


def touch_and_enqueue(saga_ids: Sequence[str], now: datetime) -> None:
    """Queue a run of each saga (the recovery sweep's kick), marking the unleased ones touched now."""
    with transaction.atomic(using="default"):
        # Touching updated_at keeps the next sweep from kicking the same sagas again at once.
        SagaInstance.objects.filter(pk__in=saga_ids, lease_expires_at__isnull=True).update(updated_at=now)
        for saga_id in saga_ids:
            enqueue_saga(saga_id)
