"""The browsable API, as a person in a browser uses it: the order form, its key, and the breadcrumbs."""

import re
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from inventory.tests.factories import ProductFactory
from orders.tests.support.api import make_user
from sagas.models import SagaInstance

pytestmark = pytest.mark.django_db(databases="__all__")

HTML = {"HTTP_ACCEPT": "text/html"}


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.fixture
def browser(db) -> Client:
    """Alice, logged in, in a browser."""
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=10)
    client = Client()
    client.force_login(make_user("alice", account=Decimal("1000.00")))
    return client


def post_form(html: str) -> str:
    """The HTML of the page's form for POST (not the raw-data one)."""
    match = re.search(r'<form action="[^"]*" method="POST" enctype="multipart/form-data".*?</form>', html, re.S)
    assert match, "the page has no POST form"
    return match.group(0)


def field_names(form: str) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', form)) - {"csrfmiddlewaretoken"}


def breadcrumbs(html: str) -> list[str]:
    trail = re.search(r'<ul class="breadcrumb">(.*?)</ul>', html, re.S)
    assert trail, "the page has no breadcrumbs"
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<a [^>]*>(.*?)</a>", trail.group(1), re.S)]


def test_the_order_form_asks_for_what_a_client_sends_and_nothing_it_is_sent_back(browser):
    response = browser.get("/api/orders/", **HTML)
    assert response.status_code == 200
    form = post_form(response.content.decode())
    assert field_names(form) == {"sku", "quantity", "style", "idempotency_key"}
    assert "API clients send it as the Idempotency-Key header" in form


def form_key(html: str) -> str:
    return re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', post_form(html)).group(1)


def test_each_drawing_of_the_form_fills_in_a_fresh_key(browser):
    keys = [form_key(browser.get("/api/orders/", **HTML).content.decode()) for _ in range(2)]
    assert keys[0] != keys[1]
    assert all(uuid.UUID(key) for key in keys)


def test_submitting_the_form_places_the_order_once(browser):
    form = {"sku": "WIDGET-1", "quantity": "2", "style": "orchestration", "idempotency_key": str(uuid.uuid4())}
    first = browser.post("/api/orders/", form, **HTML)
    assert first.status_code == 202
    assert "WIDGET-1" in first.content.decode()
    again = browser.post("/api/orders/", form, **HTML)
    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    saga = SagaInstance.objects.get()
    assert saga.context["input"]["quantity"] == 2
    # The page after placing offers a fresh order form, not the order it just showed.
    assert field_names(post_form(first.content.decode())) == {"sku", "quantity", "style", "idempotency_key"}


def test_the_forms_key_field_is_refused_from_an_api_client(browser):
    body = {"sku": "WIDGET-1", "quantity": 1, "idempotency_key": "from-the-body"}
    response = browser.post("/api/orders/", body, content_type="application/json", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not SagaInstance.objects.exists()


def test_the_breadcrumbs_name_the_api_and_each_page(browser):
    placed = browser.post(
        "/api/orders/", {"sku": "WIDGET-1", "quantity": 1}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    order_id = placed.json()["id"]
    html = browser.get(f"/api/orders/{order_id}/", **HTML).content.decode()
    assert breadcrumbs(html) == ["API", "Orders", "Order"]
    assert "Not Found" not in html
