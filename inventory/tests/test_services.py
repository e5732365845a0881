import threading
import uuid

import pytest
from django.db import connections

from inventory import services
from inventory.errors import OutOfStock, ProductInactive, ProductNotFound
from inventory.models import Product, Reservation, StockMovement
from inventory.tests.factories import ProductFactory
from sagas.participant.refusals import ActionBlocked

pytestmark = pytest.mark.django_db(databases=["default", "inventory"])


def reserve(product, quantity=2, key="k1"):
    return services.stock_reserve(key=key, order_id=uuid.uuid4(), sku=product.sku, quantity=quantity)


def on_hand(product):
    return Product.objects.using("inventory").get(pk=product.pk).stock_on_hand


def test_reserve_takes_units_off_hand_and_records_the_movement():
    product = ProductFactory(stock_on_hand=10)
    result = reserve(product, 3)
    assert on_hand(product) == 7
    reservation = Reservation.objects.using("inventory").get(pk=result["reservation_id"])
    assert reservation.status == Reservation.Status.ACTIVE
    assert StockMovement.objects.using("inventory").filter(reservation=reservation, quantity=-3).count() == 1


def test_reserve_twice_with_one_key_has_one_effect():
    product = ProductFactory(stock_on_hand=10)
    first = reserve(product, 3, key="same")
    second = reserve(product, 3, key="same")
    assert first == second
    assert on_hand(product) == 7
    assert Reservation.objects.using("inventory").count() == 1


def test_reserve_more_than_on_hand_is_refused_and_the_refusal_replays():
    product = ProductFactory(stock_on_hand=2)
    with pytest.raises(OutOfStock):
        reserve(product, 3, key="big")
    with pytest.raises(OutOfStock):
        reserve(product, 1, key="big")
    assert on_hand(product) == 2


def test_unknown_and_inactive_products_are_refused():
    with pytest.raises(ProductNotFound):
        services.stock_reserve(key="x", order_id=uuid.uuid4(), sku="NOPE", quantity=1)
    product = ProductFactory(stock_on_hand=5, active=False)
    with pytest.raises(ProductInactive):
        reserve(product, 1)


def test_release_gives_units_back_once():
    product = ProductFactory(stock_on_hand=10)
    reserve(product, 4, key="r")
    services.reservation_release(key="r:undo", reserve_key="r")
    services.reservation_release(key="r:undo", reserve_key="r")
    assert on_hand(product) == 10
    assert Reservation.objects.using("inventory").get(key="r").status == Reservation.Status.RELEASED


def test_release_before_reserve_is_an_empty_compensation_that_blocks_the_late_reserve():
    product = ProductFactory(stock_on_hand=10)
    result = services.reservation_release(key="late:undo", reserve_key="late")
    assert result["empty"] is True
    with pytest.raises(ActionBlocked):
        reserve(product, 4, key="late")
    assert on_hand(product) == 10
    assert not Reservation.objects.using("inventory").exists()


def test_commit_makes_the_reservation_final_once():
    product = ProductFactory(stock_on_hand=10)
    reserve(product, 4, key="c")
    services.reservation_commit(key="c:commit", reserve_key="c")
    services.reservation_commit(key="c:commit", reserve_key="c")
    assert Reservation.objects.using("inventory").get(key="c").status == Reservation.Status.COMMITTED
    assert on_hand(product) == 6


@pytest.mark.postgres
@pytest.mark.django_db(databases=["default", "inventory"], transaction=True)
def test_concurrent_reservations_of_the_last_units_never_oversell():
    product = ProductFactory(stock_on_hand=5)
    outcomes: list[str] = []
    barrier = threading.Barrier(12)

    def worker(number: int) -> None:
        barrier.wait()
        try:
            services.stock_reserve(key=f"race-{number}", order_id=uuid.uuid4(), sku=product.sku, quantity=1)
            outcomes.append("reserved")
        except OutOfStock:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("reserved") == 5
    assert outcomes.count("refused") == 7
    assert on_hand(product) == 0
