"""What reserving and committing stock cost in statements on the inventory database, and that refusals still say why.

The counts are taken inside the test's transaction, where the call's own transaction is a
savepoint: SAVEPOINT and RELEASE stand where a worker's call has BEGIN and COMMIT, one for one.
"""

import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from inventory import services
from inventory.errors import OutOfStock, ProductInactive, ProductNotFound, ReservationNotFound
from inventory.models import IdempotencyRecord, Product, Reservation, StockMovement
from inventory.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(databases=["default", "inventory"])


def reserve(sku="WIDGET-1", quantity=2, key="r1"):
    return services.stock_reserve(key=key, order_id=uuid.uuid4(), sku=sku, quantity=quantity)


def stock(sku="WIDGET-1") -> int:
    return Product.objects.using("inventory").get(sku=sku).stock_on_hand


@pytest.mark.postgres
def test_a_reservation_is_its_decrement_reservation_movement_and_record_in_one_transaction():
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=5)
    with CaptureQueriesContext(connections["inventory"]) as statements:
        result = reserve()
    # Begin, the conditional decrement (returning id and price), the reservation, the movement, the record, commit.
    assert len(statements) == 6, [query["sql"][:80] for query in statements]
    assert not [query for query in statements if query["sql"].startswith("SELECT")]
    assert result["unit_price"] == "25.00"


@pytest.mark.postgres
def test_committing_a_reservation_is_its_update_movement_and_record_in_one_transaction():
    ProductFactory(sku="WIDGET-1", stock_on_hand=5)
    reserve(key="r1")
    with CaptureQueriesContext(connections["inventory"]) as statements:
        services.reservation_commit(key="r1:commit", reserve_key="r1")
    # Begin, the conditional status change (returning what the movement needs), the movement, the record, commit.
    assert len(statements) == 5, [query["sql"][:80] for query in statements]
    assert not [query for query in statements if query["sql"].startswith("SELECT")]


def test_a_reservation_gives_the_products_price_and_takes_the_units():
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("12.50"), stock_on_hand=5)
    result = reserve(quantity=2)
    assert result["unit_price"] == "12.50" and result["quantity"] == 2 and result["sku"] == "WIDGET-1"
    reservation = Reservation.objects.using("inventory").get(pk=result["reservation_id"])
    assert reservation.product.sku == "WIDGET-1" and reservation.status == Reservation.Status.ACTIVE
    assert stock() == 3


def test_out_of_stock_says_what_is_left_and_what_was_asked():
    ProductFactory(sku="WIDGET-1", stock_on_hand=1)
    with pytest.raises(OutOfStock) as refused:
        reserve(quantity=2, key="many")
    assert refused.value.message == "Only 1 of WIDGET-1 in stock, 2 asked."
    assert refused.value.details == {"sku": "WIDGET-1", "requested": 2}
    assert stock() == 1
    assert not Reservation.objects.using("inventory").exists()


def test_out_of_stock_is_recorded_and_replayed_with_the_same_words():
    ProductFactory(sku="WIDGET-1", stock_on_hand=1)
    with pytest.raises(OutOfStock):
        reserve(quantity=2, key="many")
    with pytest.raises(OutOfStock) as replayed:
        reserve(quantity=1, key="many")
    assert replayed.value.message == "Only 1 of WIDGET-1 in stock, 2 asked."
    assert IdempotencyRecord.objects.using("inventory").get(key="many").outcome == "REFUSED"
    assert stock() == 1


def test_an_inactive_product_is_refused_before_its_stock_is_looked_at():
    ProductFactory(sku="OLD-1", stock_on_hand=0, active=False)
    with pytest.raises(ProductInactive) as refused:
        reserve(sku="OLD-1", quantity=5)
    assert refused.value.message == "OLD-1 is not for sale."
    assert refused.value.details == {"sku": "OLD-1"}


def test_an_unknown_sku_is_refused_by_name():
    with pytest.raises(ProductNotFound) as refused:
        reserve(sku="NOPE")
    assert refused.value.message == "No product with SKU NOPE."
    assert refused.value.details == {"sku": "NOPE"}


def test_committing_a_missing_reservation_is_refused_by_key():
    with pytest.raises(ReservationNotFound) as refused:
        services.reservation_commit(key="x:commit", reserve_key="x")
    assert refused.value.message == "No active reservation under x."
    assert refused.value.details == {"reserve_key": "x"}


def test_committing_a_released_reservation_is_refused():
    ProductFactory(sku="WIDGET-1", stock_on_hand=5)
    reserve(key="r1")
    services.reservation_release(key="r1:release", reserve_key="r1")
    with pytest.raises(ReservationNotFound):
        services.reservation_commit(key="r1:commit", reserve_key="r1")


def test_a_reservation_committed_under_another_key_counts_as_committed_without_a_second_movement():
    ProductFactory(sku="WIDGET-1", stock_on_hand=5)
    reserved = reserve(key="r1", quantity=2)
    services.reservation_commit(key="r1:commit", reserve_key="r1")
    again = services.reservation_commit(key="r1:commit-again", reserve_key="r1")
    assert again == {"reservation_id": reserved["reservation_id"], "committed": 2}
    assert StockMovement.objects.using("inventory").filter(kind=StockMovement.Kind.COMMITTED).count() == 1
    assert Reservation.objects.using("inventory").get(key="r1").status == Reservation.Status.COMMITTED
