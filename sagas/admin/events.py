"""Each service's outbox and inbox in the admin, read-only: what it published, what it acted on.

During a choreography incident these answer "was the event written?", "did the relay hand it
on, and how often?" and "which service acted on it?", from the service's own database.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from sagas.admin.tools import ReadOnlyAdmin, saga_link
from sagas.participant.outbox import InboxEventBase, OutboxEventBase


class PendingFilter(admin.SimpleListFilter):
    title = gettext_lazy("delivery")
    parameter_name = "pending"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", gettext_lazy("Not yet handed to the workers")), ("no", gettext_lazy("Handed to the workers"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(delivered_at__isnull=self.value() == "yes")
        return queryset


class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("event_type", "sequence", "saga", "created_at", "delivered_at", "delivery_count")
    list_filter = (PendingFilter, "event_type")
    search_fields = ("saga_id", "id")
    search_help_text = gettext_lazy("Exact saga id or event id.")
    exact_uuid_fields = ("saga_id", "id")
    ordering = ("-created_at",)
    readonly_fields = ("saga",)

    @admin.display(description=gettext_lazy("saga"))
    def saga(self, event: OutboxEventBase) -> str:
        return saga_link(event.saga_id)


class InboxEventAdmin(ReadOnlyAdmin):
    list_display = ("handler", "event_type", "saga", "event_id", "idempotency_key", "handled_at")
    list_filter = ("handler", "event_type")
    search_fields = ("saga_id", "event_id")
    search_help_text = gettext_lazy("Exact saga id or event id.")
    exact_uuid_fields = ("saga_id", "event_id")
    ordering = ("-handled_at",)
    readonly_fields = ("saga",)

    @admin.display(description=gettext_lazy("saga"))
    def saga(self, event: InboxEventBase) -> str:
        return saga_link(event.saga_id)
