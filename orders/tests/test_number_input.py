"""Digits other than 0-9 ("²", "①", full-width digits) are refused with a clear error wherever a number is typed."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.tests.factories import ProductFactory
from orders.tests.support.api import make_user, place
from sagas.models import SagaInstance
from sagas.tests.api_helpers import token_client

pytestmark = pytest.mark.django_db(databases="__all__")

NOT_ASCII_DIGITS = ["²", "①", "\uff11\uff12", "٣"]


@pytest.fixture
def api(db):
    cache.clear()  # throttle counts
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=100)
    return token_client(make_user("alice", account=Decimal("1000.00")))


@pytest.mark.parametrize("quantity", NOT_ASCII_DIGITS)
def test_place_order_refuses_a_quantity_in_other_digits_with_a_command_error(api, quantity):
    with pytest.raises(CommandError, match="quantity: Quantity must be a positive whole number in the digits 0-9"):
        call_command("place_order", customer="alice", sku="WIDGET-1", quantity=quantity, stdout=StringIO())
    assert not SagaInstance.objects.exists()


@pytest.mark.parametrize("quantity", NOT_ASCII_DIGITS)
def test_the_api_answers_400_for_a_quantity_in_other_digits(api, quantity):
    response = place(api, {"sku": "WIDGET-1", "quantity": quantity})
    assert response.status_code == 400
    assert response.json()["quantity"] == ["A valid integer is required."]
    assert not SagaInstance.objects.exists()


def test_the_api_still_reads_a_quantity_sent_as_ascii_text(api):
    response = place(api, {"sku": "WIDGET-1", "quantity": " 3 "})
    assert response.status_code == 202 and response.json()["quantity"] == 3


@pytest.mark.parametrize("url", ["/api/orders/", "/api/sagas/"])
@pytest.mark.parametrize("page_size", NOT_ASCII_DIGITS)
def test_the_api_answers_400_for_a_page_size_in_other_digits(url, page_size):
    staff = token_client(make_user("ops", staff=True, perms=("view_sagainstance",)))
    response = staff.get(url, {"page_size": page_size})
    assert response.status_code == 400
    assert response.json()["page_size"] == ["Enter a whole number from 1 to 200, in the digits 0-9."]
