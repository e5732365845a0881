"""Small pieces every admin page of the project shares: read-only bases, exact search, saga links."""

import uuid
from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from sagas.admin.paginators import EstimatedCountPaginator
from sagas.engine.definition import get_definition
from sagas.models import SagaInstance, SagaStatus


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and participant data change only through services, never through a form."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    # Exact matches only, so a search is an index lookup: (uuid fields, text fields).
    exact_uuid_fields: Sequence[str] = ()
    exact_text_fields: Sequence[str] = ()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(exact_match(term, self.exact_uuid_fields, self.exact_text_fields)), False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def exact_match(term: str, uuid_fields: Sequence[str], text_fields: Sequence[str]) -> Q:
    """Equality on each text field, and on each UUID field when the term is a UUID."""
    condition = Q(pk__in=[])
    for name in text_fields:
        condition |= Q(**{name: term})
    try:
        as_uuid = uuid.UUID(term)
    except ValueError:
        return condition
    for name in uuid_fields:
        condition |= Q(**{name: as_uuid})
    return condition


def saga_link(saga_id: Any) -> str:
    """A link to the saga's page, or a dash when there is no saga id."""
    if not saga_id:
        return "-"
    url = reverse("admin:sagas_sagainstance_change", args=[saga_id])
    return format_html('<a href="{}">{}</a>', url, str(saga_id)[:8])


def saga_link_for_business_key(business_key: Any) -> str:
    """A link that opens the saga acting on the business object with that key, such as an order.

    The saga is looked up when the link is followed, not once per row of a list.
    """
    if not business_key:
        return "-"
    url = reverse("admin:sagas_sagainstance_by_business_key", args=[business_key])
    return format_html('<a href="{}">{}</a>', url, _("saga of %(key)s") % {"key": str(business_key)[:8]})


def saga_link_for_key(key: str) -> str:
    """A link to the saga an idempotency key of the form saga:<id>:<step>:<direction> names."""
    parts = (key or "").split(":")
    if len(parts) >= 2 and parts[0] == "saga":
        try:
            return saga_link(uuid.UUID(parts[1]))
        except ValueError:
            pass
    return "-"


def admin_link(app_label: str, model_name: str, pk: Any) -> str:
    """A short link to a row's admin page (a row of another service, say), or a dash when there is no row.

    Only a `reverse`: a list calls it once per row without a query.
    """
    if not pk:
        return "-"
    url = reverse(f"admin:{app_label}_{model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, str(pk)[:8])


def has_current_step(saga: SagaInstance) -> bool:
    """Whether the saga is at a step now: a FAILED saga stopped at one, a completed or compensated one is done."""
    return bool(saga.current_step) and saga.status not in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED)


def saga_where(saga: SagaInstance) -> str:
    """The step the saga is at, its direction and attempt; "" once it completed or was compensated."""
    if not has_current_step(saga):
        return ""
    where = f"{saga.current_step} ({saga.get_direction_display().lower()})"
    if saga.status == SagaStatus.FAILED:
        where = _("stopped at %(where)s") % {"where": where}
    return _("%(where)s, attempt %(attempt)d") % {"where": where, "attempt": saga.attempt} if saga.attempt else where


def saga_title(saga: SagaInstance) -> str:
    """The saga as a person names it, "Saga 1a2b3c4d (order placement)", never like an order id."""
    try:
        kind = get_definition(saga.definition_name, saga.definition_version).title
    except LookupError:  # a version this process does not have (during a rolling deploy)
        kind = saga.definition_name
    return _("Saga %(id)s (%(kind)s)") % {"id": str(saga.pk)[:8], "kind": kind}
