"""Template tags for the admin pages: the banner shown while any fault rule is switched on, status names."""

import json
from typing import Any

from django import template
from django.db.models import Q
from django.urls import reverse

from sagas.engine.notes import note_in_language
from sagas.models import Direction, FaultRule, action_code_name, status_code_name
from sagas.participant import faults

register = template.Library()


@register.inclusion_tag("admin/sagas/fault_banner.html", takes_context=True)
def fault_banner(context: dict[str, Any]) -> dict[str, Any]:
    """The enabled fault rules, for staff only; nothing (and no query) for anyone else."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff:
        return {"rules": []}
    if not faults.injection_allowed():
        # Rules left enabled fire nowhere here; the fault rule pages say so.
        return {"rules": []}
    # A rule that has fired its last time (remaining 0) fires no more: it is not counted.
    live = FaultRule.objects.filter(enabled=True).filter(Q(remaining__isnull=True) | Q(remaining__gt=0))
    rules = list(live.order_by("operation", "phase"))
    return {"rules": rules, "url": reverse("admin:sagas_faultrule_changelist") + "?enabled__exact=1"}


@register.filter
def status_name(status: str) -> str:
    """A saga status in the reader's language (the code itself in English)."""
    return status_code_name(status)


@register.filter
def direction_name(direction: str) -> str:
    """A step's direction (FORWARD, COMPENSATION...) by its label in the reader's language."""
    try:
        return str(Direction(direction).label)
    except ValueError:
        return direction


@register.filter
def action_name(action: str) -> str:
    """An audit row's action in the reader's language (the stored code itself in English)."""
    return action_code_name(action)


@register.filter
def engine_note(text: str) -> str:
    """A stored error or note with the engine's own sentences in the reader's language."""
    return note_in_language(text)


@register.filter
def as_json(value: Any) -> str:
    """Recorded data (an audit row's result) as the saga's context is shown: indented JSON, not a Python repr."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
