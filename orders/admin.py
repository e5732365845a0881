"""Orders in the admin, read-only: they change only through the order services a saga calls."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.models import IdempotencyRecord, InboxEvent, Order, OrderLine, OutboxEvent
from sagas.admin.customers import CustomerAdmin
from sagas.admin.events import InboxEventAdmin, OutboxEventAdmin
from sagas.admin.tools import ReadOnlyAdmin, ReadOnlyInline, saga_link, saga_link_for_key
from sagas.models import SagaInstance


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "quantity", "unit_price", "line_total")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(CustomerAdmin):
    list_display = ("id", "customer_name", "status", "total", "saga", "created_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("id", "customer", "saga_id")
    search_help_text = _("Exact order id, customer's username or saga id.")
    exact_uuid_fields = ("id", "saga_id")
    readonly_fields = ("saga", "customer_name", "cancellation")
    fields = (
        "id",
        "key",
        "customer_name",
        "customer",
        "status",
        "total",
        "saga",
        "cancellation",
        "cancel_reason",
        "created_at",
        "updated_at",
    )
    inlines = [OrderLineInline]

    @admin.display(description=_("placement saga"))
    def saga(self, order: Order) -> str:
        return saga_link(order.saga_id)

    @admin.display(description=_("cancellation saga"))
    def cancellation(self, order: Order) -> str:
        """Each saga that cancelled, or tried to cancel, the confirmed order, oldest first, with its status."""
        sagas = SagaInstance.objects.using("default").filter(definition_name=CANCELLATION_SAGA, business_key=order.pk)
        rows = [(saga_link(saga.pk), saga.get_status_display()) for saga in sagas.order_by("created_at", "id")]
        if not rows:
            return _("none: the order was not cancelled after it was confirmed")
        return format_html_join(format_html("<br>"), "{} {}", rows)


@admin.register(IdempotencyRecord)
class OrderIdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("key", "operation", "outcome", "saga", "created_at")
    list_filter = ("operation", "outcome")
    search_fields = ("key",)
    search_help_text = _("Exact idempotency key.")
    exact_text_fields = ("key",)

    @admin.display(description=_("saga"))
    def saga(self, record: IdempotencyRecord) -> str:
        return saga_link_for_key(record.key)


admin.site.register(OutboxEvent, OutboxEventAdmin)
admin.site.register(InboxEvent, InboxEventAdmin)
