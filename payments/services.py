"""Payments operations: the only code that writes the payments database."""

import uuid
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from payments.errors import AccountNotFound, InsufficientFunds, PaymentNotFound
from payments.models import CustomerAccount, IdempotencyRecord, InboxEvent, LedgerEntry, OutboxEvent, Payment, Refund
from sagas.participant import faults, outbox
from sagas.participant.idempotency import abandon_once, compensate_once, perform_once
from sagas.participant.money import to_money
from sagas.participant.outbox import Reaction
from sagas.participant.returning import update_returning

ALIAS = "payments"


def _recorder(publish: Reaction | None, key: str) -> outbox.Hook | None:
    return outbox.recorder(OutboxEvent, InboxEvent, ALIAS, "payments", publish, key)


def account_open(customer: str, initial_deposit: Decimal | str = "0") -> CustomerAccount:
    """Open an account with a first deposit; an existing account is returned unchanged.

    `customer` is the customer's key: their user id (sagas.participant.customers.customer_key), so a
    later user who takes a deleted user's name never finds the old account.
    """
    amount = to_money(initial_deposit)
    with transaction.atomic(using=ALIAS):
        account, created = CustomerAccount.objects.using(ALIAS).get_or_create(customer=customer)
        if created and amount > 0:
            _deposit(account, amount)
    account.refresh_from_db(using=ALIAS)
    return account


def account_deposit(customer: str, amount: Decimal | str) -> CustomerAccount:
    """Add money to a customer's balance."""
    value = to_money(amount)
    if value <= 0:
        raise ValueError("A deposit must be positive.")
    with transaction.atomic(using=ALIAS):
        account = CustomerAccount.objects.using(ALIAS).filter(customer=customer).first()
        if account is None:
            raise AccountNotFound(_("No account for %(customer)s.") % {"customer": customer}, customer=customer)
        _deposit(account, value)
    account.refresh_from_db(using=ALIAS)
    return account


def _deposit(account: CustomerAccount, amount: Decimal) -> None:
    CustomerAccount.objects.using(ALIAS).filter(pk=account.pk).update(balance=F("balance") + amount)
    LedgerEntry.objects.using(ALIAS).create(account=account, kind=LedgerEntry.Kind.DEPOSIT, amount=amount)


def payment_charge(
    *, key: str, order_id: uuid.UUID | str, customer: str, amount: Decimal | str, publish: Reaction | None = None
) -> dict[str, Any]:
    """Capture `amount` from the customer's balance for an order.

    Refuses with AccountNotFound or InsufficientFunds. The debit is a conditional update,
    so two charges racing for the same balance cannot overdraw it.
    """
    value = to_money(amount)
    if value <= 0:
        raise ValueError("A charge must be positive.")
    faults.inject("payments.payment_charge")

    def effect() -> dict[str, Any]:
        # The debit and its condition in one statement; the account is read only to say why it refused.
        debited = update_returning(
            CustomerAccount.objects.using(ALIAS).filter(customer=customer, balance__gte=value),
            ["id"],
            balance=F("balance") - value,
        )
        if not debited:
            account = CustomerAccount.objects.using(ALIAS).filter(customer=customer).first()
            if account is None:
                raise AccountNotFound(_("No account for %(customer)s.") % {"customer": customer}, customer=customer)
            raise InsufficientFunds(
                _("Insufficient funds: %(asked)s asked, %(available)s available.")
                % {"asked": value, "available": account.balance},
                customer=customer,
                amount=str(value),
            )
        account_id = debited[0]["id"]
        payment = Payment.objects.using(ALIAS).create(key=key, account_id=account_id, order_id=order_id, amount=value)
        LedgerEntry.objects.using(ALIAS).create(
            account_id=account_id, kind=LedgerEntry.Kind.CHARGE, amount=-value, payment=payment, key=key
        )
        return {"payment_id": payment.pk, "amount": str(value)}

    result = perform_once(IdempotencyRecord, ALIAS, key, "payment_charge", effect, _recorder(publish, key))
    faults.inject("payments.payment_charge", phase="after")
    return result


def payment_refund(*, key: str, charge_key: str, publish: Reaction | None = None) -> dict[str, Any]:
    """Give back the whole payment captured under `charge_key`."""
    faults.inject("payments.payment_refund")

    def undo(_action: IdempotencyRecord) -> dict[str, Any]:
        payment = Payment.objects.using(ALIAS).select_for_update().get(key=charge_key)
        if payment.status == Payment.Status.REFUNDED:
            return {"payment_id": payment.pk, "refunded": "0.00"}
        refund = _refund(payment, key)
        return {"payment_id": payment.pk, "refund_id": refund.pk, "refunded": str(payment.amount)}

    result = compensate_once(
        IdempotencyRecord,
        ALIAS,
        key=key,
        action_key=charge_key,
        operation="payment_refund",
        action_operation="payment_charge",
        undo=undo,
        publish=_recorder(publish, key),
    )
    faults.inject("payments.payment_refund", phase="after")
    return result


def payment_refund_order(*, key: str, order_id: uuid.UUID | str) -> dict[str, Any]:
    """Give back everything captured for an order: a cancelled order's refund (an action, not a compensation).

    Each captured payment of the order is refunded in full, with a Refund row and a REFUND ledger
    entry, in one transaction with the record of `key`. A payment is refunded at most once
    whatever the key (its Refund is one-to-one), so a payment already refunded counts as
    refunded. Refuses with PaymentNotFound when nothing was ever taken for the order.
    """
    faults.inject("payments.payment_refund_order")

    def effect() -> dict[str, Any]:
        payments = list(Payment.objects.using(ALIAS).select_for_update().filter(order_id=order_id).order_by("pk"))
        if not payments:
            raise PaymentNotFound(
                _("No payment was taken for order %(order)s.") % {"order": order_id}, order_id=str(order_id)
            )
        refunded = to_money(0)
        refunds = []
        for payment in payments:
            if payment.status == Payment.Status.CAPTURED:
                # A refund's key is unique: a second payment of one order (never expected) gets its own.
                refund = _refund(payment, f"{key}:{payment.pk}" if refunds else key)
                refunded += refund.amount
                refunds.append(refund.pk)
        return {"order_id": str(order_id), "refund_ids": refunds, "refunded": str(refunded)}

    result = perform_once(IdempotencyRecord, ALIAS, key, "payment_refund_order", effect)
    faults.inject("payments.payment_refund_order", phase="after")
    return result


def _refund(payment: Payment, key: str) -> Refund:
    """Credit a captured payment back to its account; the caller holds the payment's row lock."""
    CustomerAccount.objects.using(ALIAS).filter(pk=payment.account_id).update(balance=F("balance") + payment.amount)
    payment.status = Payment.Status.REFUNDED
    payment.save(update_fields=["status", "updated_at"])
    refund = Refund.objects.using(ALIAS).create(key=key, payment=payment, amount=payment.amount)
    LedgerEntry.objects.using(ALIAS).create(
        account_id=payment.account_id, kind=LedgerEntry.Kind.REFUND, amount=payment.amount, payment=payment, key=key
    )
    return refund


def payment_charge_abandon(*, key: str, reason: str, publish: Reaction | None = None) -> bool:
    """Give up the charge under `key` unless it already has an outcome.

    A late charge under that key is refused from now on, and `publish` announces the
    decline in the same transaction. False when the charge already ran (or was refused).
    """
    return abandon_once(IdempotencyRecord, ALIAS, key, "payment_charge", reason, _recorder(publish, key))


# --- choreography: the outbox relay ----------------------------------------------------------


def outbox_relay(*, older_than_seconds: float | None = None, limit: int = 1000) -> list[outbox.Event]:
    """Queue delivery of this service's events that no relay has handed over yet (after a crash)."""
    return outbox.relay(OutboxEvent, ALIAS, older_than_seconds=older_than_seconds, limit=limit)


def outbox_purge(*, before: datetime, keep_saga_ids: Collection[uuid.UUID | str] = ()) -> tuple[int, int]:
    """Delete delivered events and inbox records older than `before`, except those of `keep_saga_ids`.

    Returns both counts.
    """
    return outbox.purge(OutboxEvent, InboxEvent, ALIAS, before, keep_saga_ids)
