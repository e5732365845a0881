from factory.django import DjangoModelFactory

from sagas.models import FaultRule


class FaultRuleFactory(DjangoModelFactory):
    class Meta:
        model = FaultRule
        database = "default"

    operation = FaultRule.Operation.PAYMENT_CHARGE
    phase = FaultRule.Phase.BEFORE
    mode = FaultRule.Mode.TRANSIENT
    probability = 1.0
    remaining = None
    enabled = True
