"""The saga list and the saga page: what is failing, why, since when, and what can be done.

The list reads nothing but the saga rows (no query per row, the context column left out),
counts at most a bounded number of rows, and searches by exact values so indexes answer.
Sagas are never edited through a form: every change is an operator action with a reason.
"""

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import format_lazy
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas import lookup, selectors
from sagas.admin import business_keys, operate, overview, participants
from sagas.admin.filters import NeedsAttentionFilter, SagaTypeFilter, StuckFilter
from sagas.admin.operations import OPERATIONS
from sagas.admin.paginators import EstimatedCountPaginator
from sagas.admin.tools import has_current_step, saga_title, saga_where
from sagas.engine.definition import definition_title, registered_names
from sagas.engine.notes import note_in_language
from sagas.models import SagaInstance, SagaStatus, status_code_name
from sagas.ops.timeline import format_duration, render_timeline
from sagas.participant import customers
from sagas.templatetags.localtime_named import local_time

STATUS_COLOURS = {
    SagaStatus.PENDING: "#6c757d",
    SagaStatus.RUNNING: "#1f6fb2",
    SagaStatus.COMPENSATING: "#b26a00",
    SagaStatus.COMPLETED: "#2e7d32",
    SagaStatus.COMPENSATED: "#5d4037",
    SagaStatus.FAILED: "#c62828",
}
ERROR_PREVIEW = 60


def status_badge(status: str, paused: bool = False) -> str:
    colour = STATUS_COLOURS.get(status, "#555")
    badge = format_html(
        '<span class="saga-status" style="background:{};color:#fff;padding:1px 6px;border-radius:3px;'
        'font-size:11px;font-weight:bold">{}</span>',
        colour,
        status_code_name(status),
    )
    if paused:
        badge += format_html(
            ' <span class="saga-paused" title="{}" style="border:1px solid #888;color:#555;'
            'padding:0 4px;border-radius:3px;font-size:11px">{}</span>',
            _("Paused by an operator"),
            _("paused"),
        )
    return badge


class SagaChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        # The context can be large; the list never shows it.
        return super().get_queryset(request, exclude_parameters).defer("context")


@functools.cache
def _business_key_display(definition_name: str | None) -> Callable[[SagaInstance], str]:
    """The business key as a list column or page field, headed by the definition's word for it.

    One function per definition (cached), so the page's fieldsets and its read-only fields
    name the same field; the heading is read when shown, in the reader's language.
    """

    def business_key(saga: SagaInstance) -> str:
        return business_keys.business_key_link(saga)

    return admin.display(description=lazy(business_keys.key_heading, str)(definition_name))(business_key)


def _with_key_field(fieldsets: Any, saga: SagaInstance | None) -> list[Any]:
    """The fieldsets with the business key field headed for this saga's definition."""
    field = _business_key_display(saga.definition_name if saga else None)
    return [
        (title, {**options, "fields": [field if f == "business_key_field" else f for f in options["fields"]]})
        for title, options in fieldsets
    ]


def _bulk_action(name: str) -> Any:
    operation = OPERATIONS[name]

    def action(model_admin: "SagaInstanceAdmin", request: HttpRequest, queryset: QuerySet) -> Any:
        return operate.bulk_operate(model_admin, request, queryset, name)

    action.__name__ = f"{name}_selected"
    action.short_description = format_lazy(gettext_lazy("{label} (selected sagas)"), label=operation.label)
    action.allowed_permissions = (name,)
    return action


@admin.register(SagaInstance)
class SagaInstanceAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "coloured_status",
        "saga_type",
        "style",
        "business_key_column",
        "step",
        "age",
        "short_error",
    )
    list_filter = (
        "status",
        SagaTypeFilter,
        "style",
        ("created_at", admin.DateFieldListFilter),
        StuckFilter,
        NeedsAttentionFilter,
    )
    search_fields = ("id", "business_key", "idempotency_key", "party")
    search_help_text = gettext_lazy(
        "A saga id or business key such as an order id (whole, or its first 4+ characters), "
        "or an exact idempotency key or party (a customer's username)"
    )
    ordering = ("-created_at",)
    list_per_page = 50
    show_full_result_count = False
    # Facet counts are one COUNT per filter choice over the whole table: too slow at millions.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    actions = [_bulk_action(name) for name in OPERATIONS]
    readonly_fields = (
        "id",
        "coloured_status",
        "definition",
        "style",
        "position",
        "business_key_field",
        "party_name",
        "same_key_sagas",
        "idempotency_key",
        "created_at",
        "updated_at",
        "finished_at",
        "deadline_at",
        "lease",
        "paused",
        "resolved",
        "last_error_text",
        "context_json",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "coloured_status",
                    "definition",
                    "style",
                    "position",
                    "business_key_field",
                    "party_name",
                    "same_key_sagas",
                )
            },
        ),
        (
            gettext_lazy("Timing"),
            {"fields": ("created_at", "updated_at", "finished_at", "deadline_at", "lease", "paused")},
        ),
        (gettext_lazy("Problems"), {"fields": ("last_error_text", "resolved")}),
        (gettext_lazy("Context"), {"fields": ("idempotency_key", "context_json")}),
    )
    change_form_template = "admin/sagas/sagainstance/change_form.html"
    change_list_template = "admin/sagas/sagainstance/change_list.html"

    # -- permissions: sagas change only through operator actions ---------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # The list actions' allowed_permissions ask for has_<action>_permission.
    def has_retry_permission(self, request: HttpRequest) -> bool:
        return OPERATIONS["retry"].allowed_for(request.user)

    def has_compensate_permission(self, request: HttpRequest) -> bool:
        return OPERATIONS["compensate"].allowed_for(request.user)

    def has_resume_permission(self, request: HttpRequest) -> bool:
        return OPERATIONS["resume"].allowed_for(request.user)

    def has_pause_permission(self, request: HttpRequest) -> bool:
        return OPERATIONS["pause"].allowed_for(request.user)

    def has_unpause_permission(self, request: HttpRequest) -> bool:
        return OPERATIONS["unpause"].allowed_for(request.user)

    def has_edit_input_permission(self, request: HttpRequest) -> bool:
        return OPERATIONS["edit_input"].allowed_for(request.user)

    def has_skip_step_permission(self, request: HttpRequest) -> bool:
        return OPERATIONS["skip_step"].allowed_for(request.user)

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return OPERATIONS["resolve"].allowed_for(request.user)

    # -- the list ----------------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SagaChangeList

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """Exact party (customer) or idempotency key, or a saga id or business key, whole or its first characters."""
        term = search_term.strip()
        if not term:
            return queryset, False
        exact = selectors.saga_search_condition(term)
        try:
            prefix = lookup.id_prefix_parse(term)
        except lookup.SagaIdTooShort as short:
            messages.warning(request, str(short))
            return queryset.filter(exact), False
        except lookup.MalformedSagaId:
            return queryset.filter(exact), False  # a customer or an idempotency key, not an id
        # An action posts the same search before it redirects back to it: say it once.
        if request.method == "GET":
            note = lookup.search_note(lookup.saga_matches(prefix, among=queryset), prefix)
            if note:
                messages.info(request, note)
        return queryset.filter(exact | lookup.saga_id_condition(prefix)), False

    @admin.display(description=gettext_lazy("saga"), ordering="id")
    def short_id(self, saga: SagaInstance) -> str:
        return str(saga.pk)[:8]

    @admin.display(description=gettext_lazy("type"), ordering="definition_name")
    def saga_type(self, saga: SagaInstance) -> str:
        return definition_title(saga.definition_name, saga.definition_version)

    # Sortable columns are the indexed ones only: a sort on anything else scans the table.
    @admin.display(description=gettext_lazy("status"), ordering="status")
    def coloured_status(self, saga: SagaInstance) -> str:
        return status_badge(saga.status, saga.paused)

    # Headed by the definition's word for its key; get_list_display swaps in the heading for the
    # sagas the request shows. Building a link reads nothing: no query per row.
    @admin.display(description=gettext_lazy("business key"))
    def business_key_column(self, saga: SagaInstance) -> str:
        return business_keys.business_key_link(saga)

    @admin.display(description=gettext_lazy("party"))
    def party_name(self, saga: SagaInstance) -> str:
        return customers.customer_name(saga.party) if saga.party else "-"

    @admin.display(description=gettext_lazy("current step (attempts)"))
    def step(self, saga: SagaInstance) -> str:
        if not has_current_step(saga):
            return "-"
        return f"{saga.current_step} ({saga.attempt})"

    @admin.display(description=gettext_lazy("age"), ordering="created_at")
    def age(self, saga: SagaInstance) -> str:
        return timesince(saga.created_at, timezone.now(), depth=1)

    @admin.display(description=gettext_lazy("last error"))
    def short_error(self, saga: SagaInstance) -> str:
        text = note_in_language(saga.last_error or "")
        if len(text) <= ERROR_PREVIEW:
            return text
        return format_html('<span title="{}">{}\u2026</span>', text, text[:ERROR_PREVIEW])

    def get_list_display(self, request: HttpRequest) -> Sequence[Any]:
        shown = request.GET.get("type") or request.GET.get("definition_name")
        column = _business_key_display(shown if shown in registered_names() else None)
        return [column if name == "business_key_column" else name for name in super().get_list_display(request)]

    # -- the saga page -------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: SagaInstance | None = None) -> Any:
        return _with_key_field(super().get_fieldsets(request, obj), obj)

    def get_readonly_fields(self, request: HttpRequest, obj: SagaInstance | None = None) -> Sequence[Any]:
        return [
            _business_key_display(obj.definition_name if obj else None) if name == "business_key_field" else name
            for name in super().get_readonly_fields(request, obj)
        ]

    @admin.display(description=gettext_lazy("business key"))
    def business_key_field(self, saga: SagaInstance) -> str:
        return business_keys.business_key_link(saga)

    @admin.display(description=gettext_lazy("other sagas of this key"))
    def same_key_sagas(self, saga: SagaInstance) -> str:
        return business_keys.sagas_sharing_key_html(saga)

    @admin.display(description=gettext_lazy("definition"))
    def definition(self, saga: SagaInstance) -> str:
        return _("%(title)s, version %(version)s (%(name)s)") % {
            "title": definition_title(saga.definition_name, saga.definition_version),
            "version": saga.definition_version,
            "name": saga.definition_name,
        }

    @admin.display(description=gettext_lazy("where"))
    def position(self, saga: SagaInstance) -> str:
        return saga_where(saga) or (_("finished") if saga.is_terminal else "-")

    @admin.display(description=gettext_lazy("lease"))
    def lease(self, saga: SagaInstance) -> str:
        if not saga.lease_expires_at:
            return _("none")
        now = timezone.now()
        state = _("expired") if saga.lease_expires_at <= now else _("live")
        return _("%(owner)s until %(time)s (%(state)s)") % {
            "owner": saga.lease_owner,
            "time": local_time(saga.lease_expires_at),
            "state": state,
        }

    @admin.display(description=gettext_lazy("resolved"))
    def resolved(self, saga: SagaInstance) -> str:
        if not saga.resolved_at:
            return _("no")
        return _("by %(who)s at %(time)s") % {
            "who": saga.resolved_by,
            "time": local_time(saga.resolved_at),
        }

    @admin.display(description=gettext_lazy("last error"))
    def last_error_text(self, saga: SagaInstance) -> str:
        return format_html(
            '<pre style="white-space:pre-wrap;margin:0">{}</pre>', note_in_language(saga.last_error) or "-"
        )

    @admin.display(description=gettext_lazy("context"))
    def context_json(self, saga: SagaInstance) -> str:
        text = json.dumps(saga.context, indent=2, sort_keys=True, default=str)
        return format_html('<pre class="saga-context" style="margin:0">{}</pre>', text)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        saga = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if saga is not None:
            # Django titles the page with str(saga), "order <uuid>", which reads like an order id.
            extra.update(self._saga_page_context(request, saga), title=saga_title(saga), subtitle=None)
        return super().change_view(request, object_id, form_url, extra)

    def _saga_page_context(self, request: HttpRequest, saga: SagaInstance) -> dict[str, Any]:
        steps = selectors.saga_step_logs(saga)
        records = selectors.saga_audit_records(saga)
        operations = []
        for operation in OPERATIONS.values():
            if operation.allowed_for(request.user):
                plan = operation.explain(saga)
                url = reverse("admin:sagas_sagainstance_operate", args=[saga.pk, operation.name])
                operations.append({"operation": operation, "url": url, "refusal": plan.refusal})
        return {
            "saga": saga,
            "step_rows": [
                (log, format_duration(log.finished_at - log.started_at) if log.finished_at else "") for log in steps
            ],
            "audit_records": records,
            "timeline": render_timeline(steps, [r for r in records if r.direction == "OPERATOR"]),
            "operations": operations,
            "participants": participants.participants_of(saga),
        }

    # -- extra pages ---------------------------------------------------------------------------

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("overview/", wrap(self.overview_view), name="sagas_overview"),
            path(
                "by-key/<str:business_key>/",
                wrap(self.by_business_key_view),
                name="sagas_sagainstance_by_business_key",
            ),
            path(
                "<path:object_id>/operate/<str:operation_name>/",
                wrap(self.operate_view),
                name="sagas_sagainstance_operate",
            ),
            *super().get_urls(),
        ]

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return overview.overview_page(self, request)

    def operate_view(self, request: HttpRequest, object_id: str, operation_name: str) -> HttpResponse:
        return operate.operate_view(self, request, object_id, operation_name)

    def by_business_key_view(self, request: HttpRequest, business_key: str) -> HttpResponse:
        """Open the saga acting on a business object; participants link here knowing only its id (an order's)."""
        saga = selectors.saga_for_business_key(business_key)
        if saga is not None and self.has_view_permission(request, saga):
            return HttpResponseRedirect(reverse("admin:sagas_sagainstance_change", args=[saga.pk]))
        changelist = reverse("admin:sagas_sagainstance_changelist")
        return HttpResponseRedirect(f"{changelist}?{urlencode({'q': business_key})}")
