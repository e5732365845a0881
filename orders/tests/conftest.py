"""Set-up shared by the orders tests."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from inventory.tests.factories import ProductFactory
from payments.tests.factories import AccountFactory


@pytest.fixture
def shop(db):
    """A customer with 1000.00 and a product, Widget, at 25.00 with 10 in stock."""
    account = AccountFactory(customer="alice", balance=Decimal("1000.00"))
    product = ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    return account, product


@pytest.fixture(autouse=True)
def _fresh_throttles(request: pytest.FixtureRequest):
    """Throttle counts live in the cache, keyed by a user id a later test may reuse: each test starts with none.

    The cache is a table on `default`, so a test that may not touch `default` has no counts to clear.
    """
    marker = request.node.get_closest_marker("django_db")
    databases = marker.kwargs.get("databases", ["default"]) if marker else []
    if databases != "__all__" and "default" not in databases:
        yield
        return
    cache.clear()
    yield
    cache.clear()
