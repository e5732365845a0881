"""Read-only queries on the payments database."""

from django.db.models import QuerySet

from payments.models import CustomerAccount, Payment

ALIAS = "payments"


def account_get(customer: str) -> CustomerAccount | None:
    """The customer's account, or None."""
    return CustomerAccount.objects.using(ALIAS).filter(customer=customer).first()


def payments_for_order(order_id: str) -> QuerySet[Payment]:
    """Every payment taken for an order."""
    return Payment.objects.using(ALIAS).filter(order_id=order_id).select_related("account")
