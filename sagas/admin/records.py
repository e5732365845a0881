"""Read-only admin pages for the engine's history: step log rows and API request replays."""

from django.contrib import admin
from django.utils.translation import gettext_lazy

from sagas.admin.tools import ReadOnlyAdmin, saga_link
from sagas.models import IdempotentRequest, SagaStepLog


@admin.register(SagaStepLog)
class SagaStepLogAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "saga",
        "step_name",
        "direction",
        "attempt",
        "status",
        "started_at",
        "error_type",
        "actor",
    )
    list_filter = ("direction", "status")
    search_fields = ("saga_id",)
    search_help_text = gettext_lazy("Exact saga id.")
    exact_uuid_fields = ("saga_id",)
    ordering = ("-id",)

    @admin.display(description=gettext_lazy("saga"))
    def saga(self, log: SagaStepLog) -> str:
        return saga_link(log.saga_id)


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(ReadOnlyAdmin):
    list_display = ("key", "user_id", "method", "path", "response_status", "created_at")
    list_filter = ("method", "response_status")
    search_fields = ("key",)
    search_help_text = gettext_lazy("Exact Idempotency-Key.")
    exact_text_fields = ("key",)
