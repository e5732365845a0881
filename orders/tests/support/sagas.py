"""Order sagas run to their end through the real participants, for the tests that look at them afterwards."""

from orders.placement import order_place
from sagas.models import SagaInstance, SagaStatus
from sagas.participant import faults
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory


def placed(quantity: int = 2, customer: str = "alice", sku: str = "WIDGET-1") -> SagaInstance:
    """A saga run to its end through the real participants."""
    saga, _ = order_place(customer=customer, sku=sku, quantity=quantity)
    drain()
    saga.refresh_from_db()
    return saga


def refunded_saga() -> SagaInstance:
    """A saga that charged the customer, lost the answer each time, and so refunded and compensated."""
    FaultRuleFactory(operation="payments.payment_charge", phase="after", mode="transient")
    faults.clear_cache()
    saga = placed()
    assert saga.status == SagaStatus.COMPENSATED, saga.last_error
    return saga
