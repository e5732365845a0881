"""Fixtures for the tests of every sagas package: a stocked shop and a funded customer."""

from decimal import Decimal

import pytest

from inventory.tests.factories import ProductFactory
from payments.tests.factories import AccountFactory


@pytest.fixture
def shop(db):
    """A customer with 1000.00 and a product, Widget, at 25.00 with 10 in stock."""
    account = AccountFactory(customer="alice", balance=Decimal("1000.00"))
    product = ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    return account, product
