"""The order API: placing orders idempotently, listing them and reading one with its saga."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from inventory.tests.factories import ProductFactory
from orders.models import Order
from orders.tests.support.api import make_user, place
from sagas.models import IdempotentRequest, SagaInstance, SagaStatus
from sagas.participant.customers import customer_key, customer_key_for_username
from sagas.testing.drain import drain
from sagas.tests.api_helpers import token_client

pytestmark = pytest.mark.django_db(databases="__all__")

WIDGETS = {"sku": "WIDGET-1", "quantity": 2}


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counts live in the cache; each test starts with none."""
    cache.clear()


@pytest.fixture
def widget(db):
    return ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=10)


@pytest.fixture
def alice(widget):
    return make_user("alice", account=Decimal("1000.00"))


@pytest.fixture
def api(alice):
    return token_client(alice)


# --- placing -----------------------------------------------------------------------------------


def test_placing_answers_202_with_the_order_its_saga_and_a_location(api, alice):
    response = place(api, WIDGETS, key="order-1")
    assert response.status_code == 202
    body = response.json()
    saga = SagaInstance.objects.get()
    assert body["id"] == str(saga.business_key)
    assert body["status"] == "PLACING"
    assert body["saga"]["id"] == str(saga.pk)
    assert body["saga"]["status"] == SagaStatus.PENDING
    assert (body["sku"], body["quantity"], body["total"]) == ("WIDGET-1", 2, "50.00")
    assert response["Location"] == f"http://testserver/api/orders/{saga.business_key}/"
    assert saga.idempotency_key == f"api:{alice.pk}:order-1"
    # Stored under the user's id, shown by username.
    assert saga.party == str(alice.pk) and body["customer"] == "alice"


def test_the_same_key_and_body_again_returns_the_first_answer_and_places_nothing_more(api):
    first = place(api, WIDGETS, key="order-1")
    drain()
    again = place(api, WIDGETS, key="order-1")
    assert again.status_code == first.status_code == 202
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert SagaInstance.objects.count() == 1
    assert Order.objects.using("orders").count() == 1


def test_the_same_key_with_another_body_is_refused_with_422(api):
    place(api, WIDGETS, key="order-1")
    response = place(api, {"sku": "WIDGET-1", "quantity": 3}, key="order-1")
    assert response.status_code == 422
    assert "different request" in response.json()["detail"]
    assert SagaInstance.objects.count() == 1


def test_two_customers_may_use_the_same_key_without_meeting(api, widget):
    bob = make_user("bob", account=Decimal("100.00"))
    assert place(api, WIDGETS, key="shared").status_code == 202
    assert place(token_client(bob), WIDGETS, key="shared").status_code == 202
    expected = sorted([customer_key_for_username("alice"), customer_key(bob)])
    assert sorted(SagaInstance.objects.values_list("party", flat=True)) == expected


def test_a_missing_idempotency_key_is_a_400_naming_the_header(api):
    response = api.post("/api/orders/", WIDGETS, format="json")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert SagaInstance.objects.count() == 0


@pytest.mark.parametrize("key", ["has space", "x" * 151, "naïve"])
def test_a_malformed_idempotency_key_is_a_400(api, key):
    response = api.post("/api/orders/", WIDGETS, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sku": "WIDGET-1", "quantity": 0}, "quantity"),
        ({"sku": "WIDGET-1", "quantity": -3}, "quantity"),
        ({"sku": "WIDGET-1", "quantity": "two"}, "quantity"),
        ({"sku": "WIDGET-1", "quantity": True}, "quantity"),
        ({"sku": "WIDGET-1", "quantity": 1.5}, "quantity"),
        ({"sku": "WIDGET-1", "quantity": 1001}, "quantity"),
        ({"sku": "WIDGET-1"}, "quantity"),
        ({"quantity": 1}, "sku"),
        ({"sku": "NOPE-1", "quantity": 1}, "sku"),
        ({"sku": "WIDGET-1", "quantity": 1, "style": "telepathy"}, "style"),
    ],
)
def test_bad_input_is_a_400_with_the_field_named(api, body, field):
    response = place(api, body)
    assert response.status_code == 400
    assert field in response.json()
    assert SagaInstance.objects.count() == 0


def test_an_inactive_product_is_a_400_on_the_sku(api):
    ProductFactory(sku="OLD-1", unit_price=Decimal("5.00"), stock_on_hand=3, active=False)
    response = place(api, {"sku": "OLD-1", "quantity": 1})
    assert response.status_code == 400
    assert response.json() == {"sku": ["OLD-1 is not for sale."]}


def test_a_login_without_a_customer_account_is_a_400_on_the_customer(widget):
    response = place(token_client(make_user("visitor")), WIDGETS)
    assert response.status_code == 400
    assert "customer" in response.json()


def test_a_refused_request_releases_its_key_for_the_corrected_one(api):
    assert place(api, {"sku": "NOPE-1", "quantity": 1}, key="k").status_code == 400
    assert IdempotentRequest.objects.count() == 0
    assert place(api, WIDGETS, key="k").status_code == 202


def test_placing_is_throttled_per_user(api, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "order_place", "2/minute")
    assert [place(api, WIDGETS).status_code for _ in range(3)] == [202, 202, 429]
    assert api.get("/api/orders/").status_code == 200


# --- reading -----------------------------------------------------------------------------------


def test_the_list_shows_the_callers_orders_newest_first_as_they_progress(api, widget):
    bob = make_user("bob", account=Decimal("100.00"))
    place(token_client(bob), WIDGETS)
    first = place(api, WIDGETS).json()["id"]
    second = place(api, {"sku": "WIDGET-1", "quantity": 1}).json()["id"]
    listed = api.get("/api/orders/").json()["results"]
    assert [(o["id"], o["status"]) for o in listed] == [(second, "PLACING"), (first, "PLACING")]
    drain()
    listed = api.get("/api/orders/").json()["results"]
    assert [(o["status"], o["saga"]["status"]) for o in listed] == [("APPROVED", "COMPLETED")] * 2


def test_staff_see_every_customers_orders(api, widget):
    place(api, WIDGETS)
    staff = token_client(make_user("operator", staff=True, perms=("orders.view_order",)))
    assert [o["customer"] for o in staff.get("/api/orders/").json()["results"]] == ["alice"]


def test_staff_without_the_view_permission_on_orders_see_only_their_own(api, widget):
    order_id = place(api, WIDGETS).json()["id"]
    staff = token_client(make_user("newcomer", staff=True, perms=("sagas.view_sagainstance",)))
    assert staff.get("/api/orders/").json()["results"] == []
    assert staff.get(f"/api/orders/{order_id}/").status_code == 404


def test_the_list_is_paginated_by_cursor(api):
    ids = [place(api, WIDGETS).json()["id"] for _ in range(3)]
    page = api.get("/api/orders/?page_size=2").json()
    rest = api.get(page["next"]).json()
    assert [o["id"] for o in page["results"] + rest["results"]] == ids[::-1]
    assert rest["next"] is None


@pytest.mark.parametrize("page_size", ["0", "201", "ten", "null"])
def test_a_page_size_out_of_range_is_a_400(api, page_size):
    response = api.get(f"/api/orders/?page_size={page_size}")
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_an_order_reads_with_its_saga_status_and_steps(api):
    order_id = place(api, WIDGETS).json()["id"]
    drain()
    body = api.get(f"/api/orders/{order_id}/").json()
    assert body["status"] == "APPROVED"
    assert body["saga"]["status"] == "COMPLETED"
    assert [s["step_name"] for s in body["saga"]["steps"]] == [
        "create_order",
        "reserve_stock",
        "charge_payment",
        "approve_order",
        "commit_stock",
    ]


def test_a_compensated_order_reads_cancelled_with_the_reason(api):
    order_id = place(api, {"sku": "WIDGET-1", "quantity": 11}).json()["id"]
    drain()
    body = api.get(f"/api/orders/{order_id}/").json()
    assert (body["status"], body["saga"]["status"]) == ("CANCELLED", "COMPENSATED")
    assert "in stock" in body["cancel_reason"]
    assert [(s["step_name"], s["direction"]) for s in body["saga"]["steps"]][-1] == ("create_order", "COMPENSATION")


def test_another_customers_order_is_not_found(api, widget):
    bob = token_client(make_user("bob", account=Decimal("100.00")))
    order_id = place(api, WIDGETS).json()["id"]
    assert bob.get(f"/api/orders/{order_id}/").status_code == 404
    assert bob.get("/api/orders/").json()["results"] == []


def test_staff_may_read_any_order(api):
    order_id = place(api, WIDGETS).json()["id"]
    staff = token_client(make_user("operator", staff=True, perms=("orders.view_order",)))
    assert staff.get(f"/api/orders/{order_id}/").json()["customer"] == "alice"


@pytest.mark.parametrize("order_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1"])
def test_a_malformed_or_unknown_order_id_is_a_json_404(api, order_id):
    response = api.get(f"/api/orders/{order_id}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such order."}


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("get", "/api/orders/"), ("post", "/api/orders/"), ("get", "/api/orders/x/")])
def test_without_credentials_the_order_api_answers_401(widget, method, path):
    response = getattr(APIClient(), method)(path, WIDGETS, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_a_401(widget):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/orders/").status_code == 401


def test_a_logged_in_session_places_orders_with_a_csrf_token(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/orders/").status_code == 200
    without = client.post("/api/orders/", WIDGETS, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert without.status_code == 403
    assert "CSRF" in without.json()["detail"]
    token = get_random_string(32)  # the shape of a CSRF secret; the header must repeat the cookie
    client.cookies["csrftoken"] = token
    with_token = client.post("/api/orders/", WIDGETS, format="json", HTTP_IDEMPOTENCY_KEY="s-1", HTTP_X_CSRFTOKEN=token)
    assert with_token.status_code == 202
