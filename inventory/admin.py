"""Products, reservations and stock movements in the admin, read-only: services write them."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from inventory.models import IdempotencyRecord, InboxEvent, OutboxEvent, Product, Reservation, StockMovement
from sagas.admin.events import InboxEventAdmin, OutboxEventAdmin
from sagas.admin.tools import ReadOnlyAdmin, admin_link, saga_link_for_business_key, saga_link_for_key


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("sku", "name", "unit_price", "stock_on_hand", "active")
    list_filter = ("active",)
    search_fields = ("sku",)
    search_help_text = _("Exact SKU.")
    exact_text_fields = ("sku",)


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("id", "product", "quantity", "status", "order", "saga", "created_at")
    list_filter = ("status",)
    list_select_related = ("product",)
    search_fields = ("order_id", "key")
    search_help_text = _("Exact order id or idempotency key.")
    exact_uuid_fields = ("order_id",)
    exact_text_fields = ("key",)
    readonly_fields = ("order", "saga")

    @admin.display(description=_("order"))
    def order(self, reservation: Reservation) -> str:
        return admin_link("orders", "order", reservation.order_id)

    @admin.display(description=_("saga"))
    def saga(self, reservation: Reservation) -> str:
        return saga_link_for_business_key(reservation.order_id)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("id", "product", "kind", "quantity", "reservation", "saga", "created_at")
    list_filter = ("kind",)
    list_select_related = ("product", "reservation__product")
    search_fields = ("key",)
    search_help_text = _("Exact idempotency key.")
    exact_text_fields = ("key",)
    readonly_fields = ("saga",)

    @admin.display(description=_("saga"))
    def saga(self, movement: StockMovement) -> str:
        return saga_link_for_business_key(movement.reservation.order_id) if movement.reservation_id else "-"


@admin.register(IdempotencyRecord)
class InventoryIdempotencyRecordAdmin(ReadOnlyAdmin):
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
