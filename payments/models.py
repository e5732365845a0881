"""Customer accounts, the payments taken from them, refunds, and the money ledger."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from sagas.participant.customers import customer_name
from sagas.participant.idempotency import IdempotencyRecordBase
from sagas.participant.outbox import InboxEventBase, OutboxEventBase


class CustomerAccount(models.Model):
    # The user's id as text, never the username: see sagas.participant.customers.
    customer = models.CharField(max_length=160, unique=True, help_text=_("The customer's key: their user id."))
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer"]
        constraints = [models.CheckConstraint(condition=models.Q(balance__gte=0), name="balance_never_negative")]

    def __str__(self) -> str:
        return f"{customer_name(self.customer)} ({self.balance})"


class Payment(models.Model):
    class Status(models.TextChoices):
        CAPTURED = "CAPTURED", _("Captured")
        REFUNDED = "REFUNDED", _("Refunded")

    key = models.CharField(max_length=200, unique=True, help_text=_("Idempotency key of the charge call."))
    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="payments")
    order_id = models.UUIDField(db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CAPTURED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} from {customer_name(self.account.customer)} for {self.order_id} ({self.status})"


class Refund(models.Model):
    key = models.CharField(max_length=200, unique=True)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="refund")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"refund {self.amount} of payment {self.payment_id}"


class LedgerEntry(models.Model):
    """Append-only: every change of a balance, signed."""

    class Kind(models.TextChoices):
        DEPOSIT = "DEPOSIT", _("Deposit")
        CHARGE = "CHARGE", _("Charge")
        REFUND = "REFUND", _("Refund")

    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger")
    key = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.account_id}"


class IdempotencyRecord(IdempotencyRecordBase):
    class Meta(IdempotencyRecordBase.Meta):
        verbose_name = _("idempotency record")


class OutboxEvent(OutboxEventBase):
    """An event this service published, written in the transaction of its effect."""

    class Meta(OutboxEventBase.Meta):
        verbose_name = _("outbox event")


class InboxEvent(InboxEventBase):
    """An event this service acted on, recorded in the transaction of its effect."""

    class Meta(InboxEventBase.Meta):
        verbose_name = _("inbox event")
