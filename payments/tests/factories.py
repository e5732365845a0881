from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from payments.models import CustomerAccount


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = CustomerAccount
        database = "payments"

    customer = factory.Sequence(lambda n: f"customer{n}")
    balance = Decimal("100.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Money arrives as a deposit so the ledger balances."""
        from payments import services

        return services.account_open(kwargs["customer"], kwargs["balance"])


def account_for(user, balance: Decimal | str = Decimal("100.00")) -> CustomerAccount:
    """The user's payment account, under their customer key (the user id), as the pages and API look it up."""
    from sagas.participant.customers import customer_key

    return AccountFactory(customer=customer_key(user), balance=Decimal(balance))
