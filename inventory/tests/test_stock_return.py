"""Returning a cancelled order's stock: what was committed goes back on the shelf once, whatever the key."""

import uuid

import pytest

from inventory import services
from inventory.errors import ReservationNotFound
from inventory.models import Product, Reservation, StockMovement
from inventory.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(databases=["default", "inventory"])


def on_hand(product: Product) -> int:
    return Product.objects.using("inventory").get(pk=product.pk).stock_on_hand


@pytest.fixture
def product():
    return ProductFactory(stock_on_hand=10)


def sold(product: Product, quantity: int = 3) -> uuid.UUID:
    """An order whose reservation of `quantity` units was committed (a confirmed order)."""
    order_id = uuid.uuid4()
    services.stock_reserve(key=f"reserve:{order_id}", order_id=order_id, sku=product.sku, quantity=quantity)
    services.reservation_commit(key=f"commit:{order_id}", reserve_key=f"reserve:{order_id}")
    return order_id


def test_the_return_puts_the_committed_units_back_on_hand_with_a_returned_movement(product):
    order_id = sold(product)
    assert on_hand(product) == 7
    result = services.stock_return(key="return", order_id=order_id)
    assert [item["quantity"] for item in result["returned"]] == [3]
    assert on_hand(product) == 10
    reservation = Reservation.objects.using("inventory").get(order_id=order_id)
    assert reservation.status == Reservation.Status.RETURNED
    movements = StockMovement.objects.using("inventory").filter(
        reservation=reservation, kind=StockMovement.Kind.RETURNED
    )
    assert [(movement.quantity, movement.key) for movement in movements] == [(3, "return")]


def test_the_same_key_twice_returns_once_and_answers_alike(product):
    order_id = sold(product)
    first = services.stock_return(key="return", order_id=order_id)
    assert services.stock_return(key="return", order_id=order_id) == first
    assert on_hand(product) == 10


def test_another_key_never_returns_the_stock_twice(product):
    order_id = sold(product)
    services.stock_return(key="return", order_id=order_id)
    assert services.stock_return(key="another", order_id=order_id)["returned"] == []
    assert on_hand(product) == 10
    assert StockMovement.objects.using("inventory").filter(kind=StockMovement.Kind.RETURNED).count() == 1


def test_stock_only_reserved_is_not_returned(product):
    order_id = uuid.uuid4()
    services.stock_reserve(key="reserve", order_id=order_id, sku=product.sku, quantity=3)
    with pytest.raises(ReservationNotFound):
        services.stock_return(key="return", order_id=order_id)
    assert on_hand(product) == 7


def test_an_order_without_stock_is_refused_and_the_refusal_replays(product):
    missing = uuid.uuid4()
    for _ in range(2):
        with pytest.raises(ReservationNotFound):
            services.stock_return(key="return", order_id=missing)
    assert on_hand(product) == 10
