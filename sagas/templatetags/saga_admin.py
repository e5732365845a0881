"""Template tags for the admin pages: the banner shown while any fault rule is switched on."""

from typing import Any

from django import template
from django.urls import reverse

from sagas.models import FaultRule
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
    rules = list(FaultRule.objects.filter(enabled=True).order_by("operation", "phase"))
    return {"rules": rules, "url": reverse("admin:sagas_faultrule_changelist") + "?enabled__exact=1"}
