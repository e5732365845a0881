"""Assertions about participants' state shared by the engine's tests."""

from decimal import Decimal

from inventory.models import Product, Reservation
from orders.models import Order
from payments.models import CustomerAccount, Payment
from sagas.models import SagaInstance


def balance(customer: str) -> Decimal:
    return CustomerAccount.objects.using("payments").get(customer=customer).balance


def on_hand(sku: str) -> int:
    return Product.objects.using("inventory").get(sku=sku).stock_on_hand


def order_of(saga: SagaInstance) -> Order | None:
    return Order.objects.using("orders").filter(pk=saga.business_key).first()


def reservations_of(saga: SagaInstance) -> list[Reservation]:
    return list(Reservation.objects.using("inventory").filter(order_id=saga.business_key))


def payments_of(saga: SagaInstance) -> list[Payment]:
    return list(Payment.objects.using("payments").filter(order_id=saga.business_key))
