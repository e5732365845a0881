"""The order form has the API's `order_place` rate: per user, counted in the same place as the API's."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from inventory.tests.factories import ProductFactory
from orders.forms import new_form_token
from orders.tests.support.api import place
from payments.tests.factories import account_for
from sagas.models import SagaInstance
from sagas.tests.api_helpers import token_client

pytestmark = pytest.mark.django_db(databases="__all__")

TOO_FAST = "You have placed too many orders in a short time. Try again in"


@pytest.fixture(autouse=True)
def two_orders_a_minute(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "order_place", "2/minute")


def customer(name: str):
    user = get_user_model().objects.create_user(name, password=None)
    account_for(user, "1000.00")
    browser = Client()
    browser.force_login(user)
    return user, browser


@pytest.fixture
def widget(db):
    return ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=100)


def submit(browser, quantity="1"):
    data = {"sku": "WIDGET-1", "quantity": quantity, "style": "orchestration", "token": new_form_token()}
    return browser.post(reverse("order_create"), data)


def test_a_customer_over_the_rate_gets_a_429_with_the_wait_and_no_order(widget):
    _, alice = customer("alice")
    assert [submit(alice).status_code for _ in range(2)] == [302, 302]
    response = submit(alice, quantity="7")
    assert response.status_code == 429
    html = response.content.decode()
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    assert re.search(rf"{TOO_FAST} {wait} seconds?\.", html)
    assert 'value="7"' in html, "the form keeps what was typed"
    assert SagaInstance.objects.count() == 2


def test_the_limit_is_per_customer(widget):
    _, alice = customer("alice")
    _, bob = customer("bob")
    for _ in range(2):
        submit(alice)
    assert submit(alice).status_code == 429
    assert submit(bob).status_code == 302


def test_orders_placed_through_the_api_count_against_the_form(widget):
    user, alice = customer("alice")
    api = token_client(user)
    assert [place(api, {"sku": "WIDGET-1", "quantity": 1}).status_code for _ in range(2)] == [202, 202]
    response = submit(alice)
    assert response.status_code == 429 and TOO_FAST in response.content.decode()
