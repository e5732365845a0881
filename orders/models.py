"""Orders and their lines; the saga that drives an order is referenced by id only."""

import uuid

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sagas.participant.idempotency import IdempotencyRecordBase
from sagas.participant.outbox import InboxEventBase, OutboxEventBase


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        APPROVED = "APPROVED", _("Approved")
        # A confirmed order the customer cancels: its money and stock are on their way back.
        CANCELLING = "CANCELLING", _("Cancelling")
        CANCELLED = "CANCELLED", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    key = models.CharField(
        max_length=200, unique=True, help_text=_("Idempotency key of the create call."), verbose_name=_("key")
    )
    # The user's id as text, never the username: see sagas.participant.customers.
    customer = models.CharField(
        max_length=160, db_index=True, help_text=_("The customer's key: their user id."), verbose_name=_("customer")
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    total = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("total"))
    saga_id = models.UUIDField(null=True, blank=True, db_index=True, verbose_name=_("saga id"))
    cancel_reason = models.CharField(max_length=300, blank=True, default="", verbose_name=_("cancel reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="order_customer_recent")]

    def __str__(self) -> str:
        return gettext("Order %(id)s (%(status)s)") % {"id": self.id, "status": self.get_status_display()}


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    sku = models.CharField(_("SKU"), max_length=64)
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("unit price"))
    line_total = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("line total"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="line_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} \N{MULTIPLICATION SIGN} {self.sku}"


class IdempotencyRecord(IdempotencyRecordBase):
    class Meta(IdempotencyRecordBase.Meta):
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")


class OutboxEvent(OutboxEventBase):
    """An event this service published, written in the transaction of its effect."""

    class Meta(OutboxEventBase.Meta):
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")


class InboxEvent(InboxEventBase):
    """An event this service acted on, recorded in the transaction of its effect."""

    class Meta(InboxEventBase.Meta):
        verbose_name = _("inbox event")
        verbose_name_plural = _("inbox events")


class Preference(models.Model):
    """A user's language and time zone; blank means the browser's language, the site's zone."""

    # The user table lives on `default`, this one on the orders database: the id, not a key.
    user_id = models.BigIntegerField(unique=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("preference")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.language or '-'} {self.time_zone or '-'}"
