"""The product API: the catalogue with prices and the stock free to order."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from inventory.tests.factories import ProductFactory
from sagas.tests.api_helpers import make_user, token_client

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def test_products_list_for_sale_by_sku_with_price_and_stock(db):
    ProductFactory(sku="B-1", name="Bolt", unit_price=Decimal("1.50"), stock_on_hand=7)
    ProductFactory(sku="A-1", name="Anchor", unit_price=Decimal("20.00"), stock_on_hand=0)
    ProductFactory(sku="C-1", name="Old", unit_price=Decimal("3.00"), stock_on_hand=2, active=False)
    response = token_client(make_user("alice")).get("/api/products/")
    assert response.status_code == 200
    assert response.json() == [
        {"sku": "A-1", "name": "Anchor", "unit_price": "20.00", "stock_available": 0},
        {"sku": "B-1", "name": "Bolt", "unit_price": "1.50", "stock_available": 7},
    ]


def test_a_logged_in_session_may_read_products(db):
    client = APIClient()
    client.force_login(make_user("alice"))
    assert client.get("/api/products/").status_code == 200


def test_without_credentials_products_are_a_401(db):
    response = APIClient().get("/api/products/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_writing_to_products_is_not_allowed(db):
    response = token_client(make_user("alice")).post("/api/products/", {"sku": "X"}, format="json")
    assert response.status_code == 405
