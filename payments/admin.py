"""Accounts, payments, refunds and the money ledger in the admin, read-only: services write them."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from payments.models import CustomerAccount, IdempotencyRecord, InboxEvent, LedgerEntry, OutboxEvent, Payment, Refund
from sagas.admin.customers import CustomerAdmin
from sagas.admin.events import InboxEventAdmin, OutboxEventAdmin
from sagas.admin.tools import ReadOnlyAdmin, admin_link, saga_link_for_business_key, saga_link_for_key


@admin.register(CustomerAccount)
class CustomerAccountAdmin(CustomerAdmin):
    list_display = ("customer_name", "customer", "balance", "created_at")
    search_fields = ("customer",)
    search_help_text = _("Exact customer's username (or user id).")
    readonly_fields = ("customer_name",)


@admin.register(Payment)
class PaymentAdmin(CustomerAdmin):
    customer_lookup = "account__customer"
    list_display = ("id", "customer_name", "amount", "status", "order", "saga", "created_at")
    list_filter = ("status",)
    list_select_related = ("account",)
    search_fields = ("order_id", "key")
    search_help_text = _("Exact order id, idempotency key or customer's username.")
    exact_uuid_fields = ("order_id",)
    exact_text_fields = ("key",)
    readonly_fields = ("order", "saga", "customer_name")

    @admin.display(description=_("order"))
    def order(self, payment: Payment) -> str:
        return admin_link("orders", "order", payment.order_id)

    @admin.display(description=_("saga"))
    def saga(self, payment: Payment) -> str:
        return saga_link_for_business_key(payment.order_id)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("id", "payment", "amount", "saga", "created_at")
    list_select_related = ("payment__account",)
    search_fields = ("key",)
    search_help_text = _("Exact idempotency key.")
    exact_text_fields = ("key",)
    readonly_fields = ("saga",)

    @admin.display(description=_("saga"))
    def saga(self, refund: Refund) -> str:
        return saga_link_for_business_key(refund.payment.order_id)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "kind", "amount", "payment", "saga", "created_at")
    list_filter = ("kind",)
    list_select_related = ("account", "payment__account")
    search_fields = ("key",)
    search_help_text = _("Exact idempotency key.")
    exact_text_fields = ("key",)
    readonly_fields = ("saga",)

    @admin.display(description=_("saga"))
    def saga(self, entry: LedgerEntry) -> str:
        return saga_link_for_business_key(entry.payment.order_id) if entry.payment_id else "-"


@admin.register(IdempotencyRecord)
class PaymentIdempotencyRecordAdmin(ReadOnlyAdmin):
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
