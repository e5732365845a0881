"""Customer accounts, the payments taken from them, refunds, and the money ledger."""

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sagas.participant.customers import customer_name
from sagas.participant.idempotency import IdempotencyRecordBase
from sagas.participant.money import format_money
from sagas.participant.outbox import InboxEventBase, OutboxEventBase


class CustomerAccount(models.Model):
    # The user's id as text, never the username: see sagas.participant.customers.
    customer = models.CharField(
        max_length=160, unique=True, help_text=_("The customer's key: their user id."), verbose_name=_("customer")
    )
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=0, verbose_name=_("balance"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("customer account")
        verbose_name_plural = _("customer accounts")
        ordering = ["customer"]
        constraints = [models.CheckConstraint(condition=models.Q(balance__gte=0), name="balance_never_negative")]

    def __str__(self) -> str:
        return f"{customer_name(self.customer)} ({format_money(self.balance)})"


class Payment(models.Model):
    class Status(models.TextChoices):
        CAPTURED = "CAPTURED", _("Captured")
        REFUNDED = "REFUNDED", _("Refunded")

    key = models.CharField(
        max_length=200, unique=True, help_text=_("Idempotency key of the charge call."), verbose_name=_("key")
    )
    account = models.ForeignKey(
        CustomerAccount, on_delete=models.PROTECT, related_name="payments", verbose_name=_("account")
    )
    order_id = models.UUIDField(db_index=True, verbose_name=_("order id"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("amount"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CAPTURED, verbose_name=_("status"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return gettext("%(amount)s from %(customer)s for %(order)s (%(status)s)") % {
            "amount": format_money(self.amount),
            "customer": customer_name(self.account.customer),
            "order": self.order_id,
            "status": self.get_status_display(),
        }


class Refund(models.Model):
    key = models.CharField(max_length=200, unique=True, verbose_name=_("key"))
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="refund", verbose_name=_("payment"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("amount"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return gettext("refund %(amount)s of payment %(payment)s") % {
            "amount": format_money(self.amount),
            "payment": self.payment_id,
        }


class LedgerEntry(models.Model):
    """Append-only: every change of a balance, signed."""

    class Kind(models.TextChoices):
        DEPOSIT = "DEPOSIT", _("Deposit")
        CHARGE = "CHARGE", _("Charge")
        REFUND = "REFUND", _("Refund")

    account = models.ForeignKey(
        CustomerAccount, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("account")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("amount"))
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("payment")
    )
    key = models.CharField(max_length=200, blank=True, default="", verbose_name=_("key"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ledger entry")
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return gettext("%(kind)s %(amount)s to account %(account)s") % {
            "kind": self.get_kind_display(),
            "amount": format_money(self.amount),
            "account": self.account_id,
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
