"""Exactly-once effects for participant operations that are called at least once.

Each participant keeps a table of idempotency records in its own database. An operation
stores its key in the same local transaction as its effect, under a unique constraint, and a
repeat gets the stored result back (or the stored refusal raised again). A compensation
stores its own key, and when the action it undoes never happened it leaves a BLOCKED record
under the action's key, so the late action is refused (the "hanging action" trap) and the
compensation itself succeeds as a no-op (the "empty compensation" trap).
"""

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, models, transaction

from sagaproject.errors import ActionBlocked, BusinessRefusal


class Outcome(models.TextChoices):
    APPLIED = "APPLIED", "Applied"
    REFUSED = "REFUSED", "Refused"
    BLOCKED = "BLOCKED", "Blocked by an earlier compensation"
    COMPENSATED = "COMPENSATED", "Applied, then compensated"


class IdempotencyRecordBase(models.Model):
    """One row per idempotency key a participant has seen."""

    key = models.CharField(max_length=200, unique=True)
    operation = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.operation} {self.key} ({self.outcome})"


_ATTEMPTS = 3


def _replay(record: IdempotencyRecordBase) -> dict[str, Any]:
    if record.outcome == Outcome.REFUSED:
        raise BusinessRefusal.from_dict(record.result)
    if record.outcome == Outcome.BLOCKED:
        raise ActionBlocked(f"Key {record.key} was compensated before the action ran.")
    return record.result


def perform_once(
    record_model: type[IdempotencyRecordBase],
    alias: str,
    key: str,
    operation: str,
    effect: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run `effect` once for `key` inside one transaction on `alias` and record its result.

    A business refusal raised by `effect` rolls back its writes, is recorded, and is raised
    again on every repeat. Must not be called inside another transaction on `alias`: the
    record and the effect commit together or not at all.
    """
    if not key:
        raise ValueError("An idempotency key is required.")
    for attempt in range(_ATTEMPTS):
        refusal: BusinessRefusal | None = None
        try:
            with transaction.atomic(using=alias):
                manager = record_model.objects.using(alias)
                existing = manager.select_for_update().filter(key=key).first()
                if existing is not None:
                    return _replay(existing)
                try:
                    with transaction.atomic(using=alias):
                        result = effect()
                    outcome = Outcome.APPLIED
                except BusinessRefusal as exc:
                    refusal, result, outcome = exc, exc.as_dict(), Outcome.REFUSED
                manager.create(key=key, operation=operation, outcome=outcome, result=result)
        except IntegrityError:
            # Another caller recorded this key first; its record is the answer.
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        if refusal is not None:
            raise refusal
        return result
    raise AssertionError("unreachable")


def compensate_once(
    record_model: type[IdempotencyRecordBase],
    alias: str,
    key: str,
    action_key: str,
    operation: str,
    action_operation: str,
    undo: Callable[[IdempotencyRecordBase], dict[str, Any]],
) -> dict[str, Any]:
    """Undo the action recorded under `action_key`, once for `key`, in one transaction.

    When the action never happened, leave a BLOCKED record under its key and succeed with
    an empty result; when it was refused or already blocked there is nothing to undo.
    """
    if not key or not action_key:
        raise ValueError("Both the compensation key and the action key are required.")
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic(using=alias):
                manager = record_model.objects.using(alias)
                done = manager.select_for_update().filter(key=key).first()
                if done is not None:
                    return done.result
                action = manager.select_for_update().filter(key=action_key).first()
                if action is None:
                    manager.create(
                        key=action_key,
                        operation=action_operation,
                        outcome=Outcome.BLOCKED,
                        result={"blocked_by": key},
                    )
                    result = {"empty": True, "reason": "the action never ran; it is now blocked"}
                elif action.outcome in (Outcome.REFUSED, Outcome.BLOCKED):
                    result = {"empty": True, "reason": f"the action was {action.outcome.lower()}"}
                else:
                    result = undo(action)
                    action.outcome = Outcome.COMPENSATED
                    action.save(update_fields=["outcome", "updated_at"])
                manager.create(key=key, operation=operation, outcome=Outcome.APPLIED, result=result)
                return result
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
