"""Fault injection points that participant services call before and after their effect.

A participant names its points ("payments.payment_charge") and registers them from its
AppConfig.ready() with `register_fault_points`; the admin offers an operator those points to
plant a rule on, so the engine names no business operation. Rules live in the engine's
database (`sagas.FaultRule`) so operators can switch them on from the admin and tests can
plant them; nothing fires unless a rule is enabled and the FAULT_INJECTION setting allows
fault injection at all (by default only with DEBUG on), so a rule left enabled, or planted,
on a production site does nothing. Rules are cached per process for a second, since every
participant call passes through here.
"""

import random
import time
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import F
from django.utils.translation import gettext as _

from sagas.participant.refusals import InjectedRefusal, InjectedTransientError

_CACHE_SECONDS = 1.0
_cache: dict[str, Any] = {"loaded_at": 0.0, "rules": {}}
# The length of FaultRule.operation: a point's name must fit a rule.
POINT_MAX_LENGTH = 64

_points: set[str] = set()


def register_fault_points(*operations: str) -> None:
    """Declare operations whose service calls `inject`, so an operator can plant a rule on each.

    Call it from the participant's AppConfig.ready(); registering a point again is harmless.
    ValueError for an empty name or one longer than a rule can hold.
    """
    for operation in operations:
        if not operation or len(operation) > POINT_MAX_LENGTH:
            raise ValueError(f"A fault point is named by 1 to {POINT_MAX_LENGTH} characters, not {operation!r}.")
    _points.update(str(operation) for operation in operations)


def unregister_fault_points(*operations: str) -> None:
    """Forget fault points (for tests that register points of their own)."""
    _points.difference_update(str(operation) for operation in operations)


def fault_points() -> list[str]:
    """Every registered fault point, sorted."""
    return sorted(_points)


def clear_cache() -> None:
    """Forget the cached rules so the next call reads the database."""
    _cache["loaded_at"] = 0.0


def injection_allowed() -> bool:
    """Whether this deployment lets fault rules fire (the FAULT_INJECTION setting)."""
    return bool(getattr(settings, "FAULT_INJECTION", False))


def _rules() -> dict[tuple[str, str], list]:
    now = time.monotonic()
    if now - _cache["loaded_at"] > _CACHE_SECONDS:
        rule_model = apps.get_model("sagas", "FaultRule")
        grouped: dict[tuple[str, str], list] = {}
        for rule in rule_model.objects.filter(enabled=True):
            grouped.setdefault((rule.operation, rule.phase), []).append(rule)
        _cache["rules"] = grouped
        _cache["loaded_at"] = now
    return _cache["rules"]


def _consume(rule: Any) -> bool:
    """Take one firing from a rule limited to a count; False when it is used up."""
    if rule.remaining is None:
        return True
    rule_model = type(rule)
    taken = rule_model.objects.filter(pk=rule.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
    if not taken:
        clear_cache()
    return bool(taken)


def inject(operation: str, phase: str = "before") -> None:
    """Apply the enabled fault rules of `operation` for this phase ("before" or "after")."""
    if not injection_allowed():
        return
    for rule in _rules().get((operation, phase), ()):
        if rule.probability < 1 and random.random() >= rule.probability:
            continue
        if not _consume(rule):
            continue
        if rule.mode == "delay":
            # The table refuses a negative delay; one read from elsewhere is no delay, not a crash.
            time.sleep(max(rule.delay_seconds, 0.0))
        elif rule.mode == "hang":
            # Sleeps in short slices so a step timeout (SIGALRM) can interrupt it.
            deadline = time.monotonic() + max(rule.delay_seconds, 3600)
            while time.monotonic() < deadline:
                time.sleep(0.05)
        elif rule.mode == "refuse":
            raise InjectedRefusal(rule.message or _("%(operation)s refused by a fault rule") % {"operation": operation})
        elif rule.mode == "transient":
            raise InjectedTransientError(
                rule.message or _("%(operation)s failed by a fault rule") % {"operation": operation}
            )
