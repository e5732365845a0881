from factory.django import DjangoModelFactory

from sagas.models import FaultRule


class FaultRuleFactory(DjangoModelFactory):
    class Meta:
        model = FaultRule
        database = "default"

    operation = "payments.payment_charge"
    phase = FaultRule.Phase.BEFORE
    mode = FaultRule.Mode.TRANSIENT
    probability = 1.0
    remaining = None
    enabled = True
