"""The order form: each bad input is refused with its message next to the field, and nothing is placed."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import escape

from inventory.tests.factories import ProductFactory
from orders.forms import OrderForm, new_form_token
from payments.tests.factories import account_for
from sagas.models import SagaInstance

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def customer_client(client):
    alice = get_user_model().objects.create_user("alice", password="demo-pass-123")
    account_for(alice, "100.00")
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    client.force_login(alice)
    return client


def submit(client, **overrides):
    data = {"sku": "WIDGET-1", "quantity": "1", "style": "orchestration", "token": new_form_token(), **overrides}
    return client.post(reverse("order_create"), data)


def error_next_to(html: str, field: str) -> str:
    """The error text rendered right under the field, in the field's own block."""
    block = re.search(
        rf'<div class="field field--error">\s*<label for="id_{field}">.*?</div>', html, flags=re.DOTALL
    ) or re.search(rf'<fieldset class="field field--error">.*?id="id_{field}_error".*?</fieldset>', html, re.DOTALL)
    assert block, f"no error block around the {field} field"
    message = re.search(rf'<p class="field-error" id="id_{field}_error" role="alert">(.*?)</p>', block.group(0))
    assert message, f"no error message in the {field} block"
    return message.group(1)


@pytest.mark.parametrize("quantity", ["abc", "0", "-3", "1.5", " 2x"])
def test_a_quantity_that_is_not_a_positive_whole_number_is_refused_next_to_the_quantity(customer_client, quantity):
    response = submit(customer_client, quantity=quantity)
    assert response.status_code == 200
    assert "Quantity must be a positive whole number" in error_next_to(response.content.decode(), "quantity")
    assert not SagaInstance.objects.exists()


@pytest.mark.parametrize("quantity", ["²", "①", "\uff11\uff12", "٣"])
def test_a_quantity_in_digits_other_than_0_to_9_is_refused_next_to_the_quantity(customer_client, quantity):
    response = submit(customer_client, quantity=quantity)
    assert response.status_code == 200
    assert error_next_to(response.content.decode(), "quantity") == escape(
        f"Quantity must be a positive whole number in the digits 0-9, not {quantity!r}."
    )
    assert not SagaInstance.objects.exists()


def test_an_empty_quantity_asks_how_many(customer_client):
    response = submit(customer_client, quantity="")
    assert error_next_to(response.content.decode(), "quantity") == "Enter how many you want."
    assert not SagaInstance.objects.exists()


def test_more_than_the_maximum_quantity_is_refused_next_to_the_quantity(customer_client):
    response = submit(customer_client, quantity="1001")
    assert error_next_to(response.content.decode(), "quantity") == "At most 1000 units per order."
    assert not SagaInstance.objects.exists()


def test_an_unknown_product_is_refused_next_to_the_product(customer_client):
    response = submit(customer_client, sku="NO-SUCH-THING")
    assert error_next_to(response.content.decode(), "sku") == escape("Unknown product 'NO-SUCH-THING'.")
    assert not SagaInstance.objects.exists()


def test_an_inactive_product_is_refused_next_to_the_product(customer_client):
    ProductFactory(sku="OLD-1", unit_price=Decimal("5.00"), stock_on_hand=3, active=False)
    response = submit(customer_client, sku="OLD-1")
    assert error_next_to(response.content.decode(), "sku") == "OLD-1 is not for sale."
    assert not SagaInstance.objects.exists()


def test_no_product_chosen_asks_for_one(customer_client):
    response = submit(customer_client, sku="")
    assert error_next_to(response.content.decode(), "sku") == "Choose a product."


def test_an_unknown_style_is_refused_next_to_the_style(customer_client):
    response = submit(customer_client, style="telepathy")
    assert "Select a valid choice" in error_next_to(response.content.decode(), "style")
    assert not SagaInstance.objects.exists()


def test_a_missing_or_forged_token_asks_to_submit_again_with_a_fresh_token(customer_client):
    response = submit(customer_client, token="not-a-token")
    html = response.content.decode()
    assert "This form has expired" in html
    fresh = re.search(r'name="token" value="([0-9a-f]{32})"', html)
    assert fresh, "the form is rendered again with a usable token"
    assert not SagaInstance.objects.exists()


def test_a_login_without_a_payment_account_is_told_so_above_the_form(client):
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=10)
    client.force_login(get_user_model().objects.create_user("stranger", password="x-pass-123456"))
    response = submit(client)
    assert "Unknown customer &#x27;stranger&#x27;." in response.content.decode()
    assert not SagaInstance.objects.exists()


def test_the_form_keeps_what_was_typed_after_an_error(customer_client):
    response = submit(customer_client, quantity="1001")
    html = response.content.decode()
    assert 'value="1001"' in html
    assert re.search(r'<option value="WIDGET-1" selected>', html)


def test_each_new_form_gets_its_own_token():
    first, second = OrderForm(), OrderForm()
    assert first.token_value() != second.token_value()
    assert re.fullmatch(r"[0-9a-f]{32}", first.token_value())


def test_the_idempotency_key_is_made_of_the_user_and_the_token():
    token = new_form_token()
    form = OrderForm({"sku": "WIDGET-1", "quantity": "2", "style": "orchestration", "token": token})
    assert form.is_valid(), form.errors
    assert form.idempotency_key(7) == f"web:7:{token}"


def test_the_product_list_offers_only_the_products_given(db):
    products = [ProductFactory.build(sku="A-1", name="Apple", unit_price=Decimal("1.00"), stock_on_hand=4)]
    choices = OrderForm(products=products).fields["sku"].widget.choices
    assert choices == [("", "Choose a product"), ("A-1", "Apple — $1.00 (4 available)")]
