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
