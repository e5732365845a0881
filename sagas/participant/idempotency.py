"""Exactly-once effects for participant operations that are called at least once.

Each participant keeps a table of idempotency records in its own database. An operation
stores its key in the same local transaction as its effect, under a unique constraint, and a
repeat gets the stored result back (or the stored refusal raised again). A compensation
stores its own key, and when the action it undoes never happened it leaves a BLOCKED record
under the action's key, so the late action is refused (the "hanging action" trap) and the
compensation itself succeeds as a no-op (the "empty compensation" trap).

An optional `publish` hook runs inside the same transaction once a new outcome is recorded
(never on a replay): choreographed services use it to write their inbox and outbox rows
together with the effect.
"""

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy

from sagas.participant.refusals import ActionBlocked, BusinessRefusal


class Outcome(models.TextChoices):
    APPLIED = "APPLIED", gettext_lazy("Applied")
    REFUSED = "REFUSED", gettext_lazy("Refused")
    BLOCKED = "BLOCKED", gettext_lazy("Blocked by an earlier compensation")
    COMPENSATED = "COMPENSATED", gettext_lazy("Applied, then compensated")


class IdempotencyRecordBase(models.Model):
    """One row per idempotency key a participant has seen."""

    key = models.CharField(max_length=200, unique=True, verbose_name=gettext_lazy("idempotency key"))
    operation = models.CharField(max_length=64, verbose_name=gettext_lazy("operation"))
    outcome = models.CharField(max_length=16, choices=Outcome.choices, verbose_name=gettext_lazy("outcome"))
    result = models.JSONField(default=dict, blank=True, verbose_name=gettext_lazy("result"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.operation} {self.key} ({self.get_outcome_display()})"


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
    publish: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run `effect` once for `key` inside one transaction on `alias` and record its result.

    The first call pays only for its effect and one insert: the record goes in last, in the
    same transaction, and its unique key is what detects a repeat. A repeat therefore runs
    the effect, fails on the key, rolls everything back and answers with the recorded result
    (or raises the recorded refusal). A business refusal raised by `effect` leaves no write
    behind, is recorded, and is raised again on every repeat. Must not be called inside
    another transaction on `alias`.
    """
    if not key:
        raise ValueError("An idempotency key is required.")
    manager = record_model.objects.using(alias)
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic(using=alias):
                result = effect()
                manager.create(key=key, operation=operation, outcome=Outcome.APPLIED, result=result)
                if publish is not None:
                    publish(Outcome.APPLIED, result)
            return result
        except IntegrityError:
            pass
        except BusinessRefusal as refusal:
            try:
                with transaction.atomic(using=alias):
                    manager.create(key=key, operation=operation, outcome=Outcome.REFUSED, result=refusal.as_dict())
                    if publish is not None:
                        publish(Outcome.REFUSED, refusal.as_dict())
            except IntegrityError:
                pass
            else:
                raise
        # The key was recorded by an earlier or concurrent call: its record is the answer.
        existing = manager.filter(key=key).first()
        if existing is not None:
            return _replay(existing)
        if attempt == _ATTEMPTS - 1:
            raise IntegrityError(f"{operation} under key {key} kept conflicting without a record to replay.")
    raise AssertionError("unreachable")


def compensate_once(
    record_model: type[IdempotencyRecordBase],
    alias: str,
    *,
    key: str,
    action_key: str,
    operation: str,
    action_operation: str,
    undo: Callable[[IdempotencyRecordBase], dict[str, Any]],
    publish: Callable[[str, dict[str, Any]], None] | None = None,
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
                # Both records read and locked in one statement: this compensation's, then the action's.
                records = {
                    record.key: record
                    for record in manager.select_for_update().filter(key__in=(key, action_key)).order_by("pk")
                }
                done = records.get(key)
                if done is not None:
                    return done.result
                action = records.get(action_key)
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
                if publish is not None:
                    publish(Outcome.APPLIED, result)
                return result
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def abandon_once(
    record_model: type[IdempotencyRecordBase],
    alias: str,
    action_key: str,
    action_operation: str,
    reason: str,
    publish: Callable[[str, dict[str, Any]], None] | None = None,
) -> bool:
    """Give up an action that has recorded nothing: block it under `action_key`, in one transaction.

    Returns False when the action already recorded an outcome (applied, refused or blocked):
    that outcome stands. Otherwise a late attempt of the action is refused from now on and
    `publish` runs with a REFUSED outcome and the reason.
    """
    if not action_key:
        raise ValueError("The action key is required.")
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic(using=alias):
                manager = record_model.objects.using(alias)
                if manager.select_for_update().filter(key=action_key).exists():
                    return False
                result = {"code": "abandoned", "message": reason, "details": {}}
                manager.create(key=action_key, operation=action_operation, outcome=Outcome.BLOCKED, result=result)
                if publish is not None:
                    publish(Outcome.REFUSED, result)
                return True
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
