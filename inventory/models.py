"""Products, their stock, reservations against it and the ledger of every movement."""

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sagas.participant.idempotency import IdempotencyRecordBase
from sagas.participant.outbox import InboxEventBase, OutboxEventBase


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(max_length=200, verbose_name=_("name"))
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("unit price"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    # Units free to reserve; reserved and committed units are no longer on hand.
    stock_on_hand = models.PositiveIntegerField(default=0, verbose_name=_("stock on hand"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock_on_hand__gte=0), name="stock_never_negative"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Reservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        RELEASED = "RELEASED", _("Released")
        COMMITTED = "COMMITTED", _("Committed")
        # Sold, then back on the shelf: the order was cancelled after it was confirmed.
        RETURNED = "RETURNED", _("Returned")

    key = models.CharField(
        max_length=200, unique=True, help_text=_("Idempotency key of the reserve call."), verbose_name=_("key")
    )
    order_id = models.UUIDField(db_index=True, verbose_name=_("order id"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="reservation_quantity_positive")]

    def __str__(self) -> str:
        return gettext("%(quantity)s x %(sku)s for %(order)s (%(status)s)") % {
            "quantity": self.quantity,
            "sku": self.product.sku,
            "order": self.order_id,
            "status": self.get_status_display(),
        }


class StockMovement(models.Model):
    """Append-only ledger: every change of stock on hand, with the reservation it concerns."""

    class Kind(models.TextChoices):
        RECEIVED = "RECEIVED", _("Received")
        RESERVED = "RESERVED", _("Reserved")
        RELEASED = "RELEASED", _("Released")
        COMMITTED = "COMMITTED", _("Committed")
        RETURNED = "RETURNED", _("Returned")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements", verbose_name=_("product"))
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    # Change of stock on hand: +received, -reserved, +released, 0 for a commit, +returned.
    quantity = models.IntegerField(verbose_name=_("quantity"))
    reservation = models.ForeignKey(
        Reservation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
        verbose_name=_("reservation"),
    )
    key = models.CharField(max_length=200, blank=True, default="", verbose_name=_("key"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return gettext("%(kind)s %(quantity)s of product %(product)s") % {
            "kind": self.get_kind_display(),
            "quantity": f"{self.quantity:+d}",
            "product": self.product_id,
        }


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
