"""Shared steps of the cancellation tests: place an order to a given point, then cancel it."""

from decimal import Decimal

from inventory.models import Product, Reservation
from orders.cancellation import CancellationStarted, cancellation_request
from orders.models import Order
from orders.placement import order_place
from payments.models import CustomerAccount, Payment
from sagas.models import FaultRule, SagaInstance
from sagas.participant import faults
from sagas.testing.drain import drain

CUSTOMER = "alice"


def place(quantity: int = 2, customer: str = CUSTOMER, style: str = "orchestration") -> SagaInstance:
    """A placed order, its saga drained to the end (confirmed when nothing refuses)."""
    saga, _ = order_place(customer=customer, sku="WIDGET-1", quantity=quantity, style=style)
    drain()
    saga.refresh_from_db()
    return saga


def cancel(saga: SagaInstance, customer: str = CUSTOMER, reason: str = "") -> CancellationStarted:
    return cancellation_request(saga.business_key, customer=customer, actor=f"customer {customer}", reason=reason)


def cancel_and_drain(saga: SagaInstance, customer: str = CUSTOMER) -> SagaInstance:
    started = cancel(saga, customer)
    drain()
    started.saga.refresh_from_db()
    return started.saga


def order(saga: SagaInstance) -> Order:
    return Order.objects.using("orders").get(pk=saga.business_key)


def balance(customer: str = CUSTOMER) -> Decimal:
    return CustomerAccount.objects.using("payments").get(customer=customer).balance


def on_hand(sku: str = "WIDGET-1") -> int:
    return Product.objects.using("inventory").get(sku=sku).stock_on_hand


def payment(saga: SagaInstance) -> Payment:
    return Payment.objects.using("payments").get(order_id=saga.business_key)


def reservation(saga: SagaInstance) -> Reservation:
    return Reservation.objects.using("inventory").get(order_id=saga.business_key)


def fault(operation: str, mode: str, phase: str = "before", remaining: int | None = None) -> FaultRule:
    """A fault rule that fires from the next call on (the rule cache is read afresh)."""
    rule = FaultRule.objects.create(operation=operation, mode=mode, phase=phase, remaining=remaining)
    faults.clear_cache()
    return rule


def place_until_retry(operation: str, customer: str = CUSTOMER) -> SagaInstance:
    """A placement saga that ran until `operation` failed once and now waits to retry it (no drain)."""
    from sagas.tasks import run_saga

    fault(operation, "transient", remaining=1)
    saga, _ = order_place(customer=customer, sku="WIDGET-1", quantity=2, style="orchestration")
    run_saga(str(saga.pk))
    saga.refresh_from_db()
    return saga
