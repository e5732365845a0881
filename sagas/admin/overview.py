"""The operations overview: sagas by status, outcomes per hour, slow steps, common errors, stuck sagas."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from sagas import selectors
from sagas.admin.charts import render_outcome_chart
from sagas.ops.timeline import format_duration

STUCK_SHOWN = 25


def overview_page(model_admin: Any, request: HttpRequest) -> HttpResponse:
    """Render the overview for the saga admin it belongs to."""
    changelist = reverse("admin:sagas_sagainstance_changelist")
    counts = selectors.saga_counts_by_status()
    stuck = list(selectors.sagas_stuck().defer("context")[: STUCK_SHOWN + 1])
    slowest = [
        {"step": s, "slowest": format_duration(s.slowest), "average": format_duration(s.average)}
        for s in selectors.slowest_steps()
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Saga overview"),
        "opts": model_admin.model._meta,
        "counts": [(row, f"{changelist}?status__exact={row.status}") for row in counts],
        "total": sum(row.count for row in counts),
        "total_estimated": any(row.estimated for row in counts),
        "chart": render_outcome_chart(selectors.saga_outcomes_by_hour()),
        "slowest": slowest,
        "errors": selectors.frequent_errors(),
        "stuck": stuck[:STUCK_SHOWN],
        "more_stuck": len(stuck) > STUCK_SHOWN,
        "stuck_url": f"{changelist}?stuck=yes",
        "attention_url": f"{changelist}?attention=yes",
        "changelist_url": changelist,
    }
    return TemplateResponse(request, "admin/sagas/overview.html", context)
