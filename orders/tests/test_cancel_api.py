"""Cancelling over the API: POST /api/orders/{id}/cancel/ (idempotent) and GET /api/orders/{id}/cancellation/."""

import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from inventory.tests.factories import ProductFactory
from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.models import Order
from orders.placement import order_place
from orders.tests.support.api import make_user, place
from payments.models import CustomerAccount
from sagas.models import IdempotentRequest, SagaInstance, SagaStatus
from sagas.participant import faults
from sagas.participant.customers import customer_key
from sagas.testing.drain import drain
from sagas.tests.api_helpers import token_client
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.fixture
def widget(db):
    return ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)


@pytest.fixture
def alice(widget):
    return make_user("alice", account=Decimal("1000.00"))


@pytest.fixture
def api(alice):
    return token_client(alice)


def placed(user, run=True):
    saga, _ = order_place(customer=customer_key(user), sku="WIDGET-1", quantity=2)
    if run:
        drain()
    saga.refresh_from_db()
    return saga


def cancel(client, order_id, body=None, key=None):
    """POST /api/orders/{id}/cancel/ with a fresh Idempotency-Key unless one is given."""
    return client.post(
        f"/api/orders/{order_id}/cancel/", body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4())
    )


def cancellations(saga):
    return SagaInstance.objects.filter(definition_name=CANCELLATION_SAGA, business_key=saga.business_key)


# --- starting ------------------------------------------------------------------------------------


def test_cancelling_a_confirmed_order_answers_202_with_the_cancellation_saga_and_links(api, alice):
    saga = placed(alice)
    response = cancel(api, saga.business_key, {"reason": "changed my mind"}, key="cancel-1")
    assert response.status_code == 202
    body = response.json()
    cancellation = cancellations(saga).get()
    order_url = f"http://testserver/api/orders/{saga.business_key}/"
    assert body["order_id"] == str(saga.business_key)
    assert (body["path"], body["created"]) == ("cancellation", True)
    assert body["saga"]["id"] == str(cancellation.pk)
    assert body["saga"]["status"] == SagaStatus.PENDING
    assert body["links"] == {"order": order_url, "cancellation": f"{order_url}cancellation/"}
    assert response["Location"] == order_url
    assert cancellation.context["input"]["reason"] == "changed my mind"
    assert cancellation.context["input"]["actor"] == "alice"


def test_the_cancellation_refunds_and_the_order_reads_cancelled_with_both_sagas(api, alice):
    saga = placed(alice)
    cancel(api, saga.business_key)
    drain()
    body = api.get(f"/api/orders/{saga.business_key}/").json()
    assert body["status"] == Order.Status.CANCELLED
    assert body["saga"]["id"] == str(saga.pk)
    assert body["cancellation"]["id"] == str(cancellations(saga).get().pk)
    assert body["cancellation"]["status"] == SagaStatus.COMPLETED
    assert [step["step_name"] for step in body["cancellation"]["steps"]] == [
        "mark_cancelling",
        "refund_payment",
        "return_stock",
        "mark_cancelled",
    ]
    assert CustomerAccount.objects.using("payments").get(customer=customer_key(alice)).balance == Decimal("1000.00")


def test_an_order_not_cancelled_reads_with_no_cancellation(api, alice):
    saga = placed(alice)
    assert api.get(f"/api/orders/{saga.business_key}/").json()["cancellation"] is None


def test_a_cancelled_order_is_listed_once(api, alice):
    saga = placed(alice)
    cancel(api, saga.business_key)
    drain()
    results = api.get("/api/orders/").json()["results"]
    assert [(result["id"], result["status"]) for result in results] == [(str(saga.business_key), "CANCELLED")]


def test_cancelling_an_order_being_placed_stops_its_placement_saga(api, alice):
    saga = placed(alice, run=False)
    response = cancel(api, saga.business_key)
    assert response.status_code == 202
    body = response.json()
    assert (body["path"], body["saga"]["id"]) == ("stop_placement", str(saga.pk))
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert not cancellations(saga).exists()


# --- idempotency, as placing an order ------------------------------------------------------------


def test_the_same_key_and_body_again_replays_the_first_answer_and_starts_nothing_more(api, alice):
    saga = placed(alice)
    first = cancel(api, saga.business_key, {"reason": "too late"}, key="cancel-1")
    drain()
    again = cancel(api, saga.business_key, {"reason": "too late"}, key="cancel-1")
    assert again.status_code == first.status_code == 202
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert cancellations(saga).count() == 1


def test_the_same_key_with_another_body_is_refused_with_422(api, alice):
    saga = placed(alice)
    cancel(api, saga.business_key, {"reason": "one"}, key="cancel-1")
    response = cancel(api, saga.business_key, {"reason": "two"}, key="cancel-1")
    assert response.status_code == 422
    assert "different request" in response.json()["detail"]
    assert cancellations(saga).count() == 1


def test_a_key_that_placed_an_order_cannot_cancel_it(api, alice):
    response = place(api, {"sku": "WIDGET-1", "quantity": 1}, key="shared")
    drain()
    assert cancel(api, response.json()["id"], key="shared").status_code == 422


def test_a_missing_idempotency_key_is_a_400_naming_the_header(api, alice):
    saga = placed(alice)
    response = api.post(f"/api/orders/{saga.business_key}/cancel/", {}, format="json")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not cancellations(saga).exists()


def test_a_reason_too_long_is_a_400_on_the_reason(api, alice):
    saga = placed(alice)
    response = cancel(api, saga.business_key, {"reason": "x" * 201})
    assert response.status_code == 400
    assert "reason" in response.json()


# --- refusals ------------------------------------------------------------------------------------


def test_past_the_window_is_a_409_with_its_code_and_the_customers_message(api, alice, settings):
    saga = placed(alice)
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 0
    response = cancel(api, saga.business_key, key="late")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "window_passed"
    assert body["detail"].startswith("This order can no longer be cancelled: cancelling was possible until ")
    # A refusal releases its key, as any answer in error does.
    assert not IdempotentRequest.objects.filter(key="late").exists()


def test_an_order_being_confirmed_is_a_409_saying_to_cancel_once_confirmed(api, alice):
    FaultRuleFactory(operation="inventory.reservation_commit", mode="transient", remaining=1)
    faults.clear_cache()
    saga, _ = order_place(customer=customer_key(alice), sku="WIDGET-1", quantity=2)
    drain(fast_forward=False)
    response = cancel(api, saga.business_key)
    assert response.status_code == 409
    assert response.json() == {
        "code": "confirming",
        "detail": "This order is being confirmed and can no longer be stopped; you can cancel it once it is confirmed.",
    }


def test_a_second_cancel_with_a_new_key_is_a_409_while_the_first_runs_and_after(api, alice):
    saga = placed(alice)
    cancel(api, saga.business_key)
    assert cancel(api, saga.business_key).json()["code"] == "cancelling"
    drain()
    response = cancel(api, saga.business_key)
    assert (response.status_code, response.json()["code"]) == (409, "already_cancelled")
    assert cancellations(saga).count() == 1


@pytest.mark.parametrize("order_id", ["someone-else", str(uuid.uuid4()), "not-a-uuid"])
def test_an_order_that_is_not_yours_is_a_404_not_found(api, widget, order_id):
    if order_id == "someone-else":
        bob = make_user("bob", account=Decimal("1000.00"))
        order_id = str(placed(bob).business_key)
    response = cancel(api, order_id)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not SagaInstance.objects.filter(definition_name=CANCELLATION_SAGA).exists()


def test_cancelling_needs_credentials(alice):
    saga = placed(alice)
    assert cancel(APIClient(), saga.business_key).status_code == 401


# --- the plan ------------------------------------------------------------------------------------


def test_the_plan_of_a_confirmed_order_says_the_refund_the_stock_and_the_deadline(api, alice, settings):
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 3600
    saga = placed(alice)
    body = api.get(f"/api/orders/{saga.business_key}/cancellation/").json()
    assert body["possible"] is True
    assert (body["path"], body["code"], body["detail"]) == ("cancellation", None, "")
    assert body["refund"] == "50.00"
    assert body["stock_back"] == [{"product": "Widget", "quantity": 2}]
    assert body["deadline"] is not None


def test_the_plan_of_an_order_that_cannot_be_cancelled_says_why(api, alice, settings):
    saga = placed(alice)
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 0
    body = api.get(f"/api/orders/{saga.business_key}/cancellation/").json()
    assert (body["possible"], body["path"], body["code"]) == (False, None, "window_passed")
    assert body["detail"].startswith("This order can no longer be cancelled")


def test_the_plan_of_someone_elses_order_is_a_404(api, widget):
    bob = make_user("bob", account=Decimal("1000.00"))
    response = api.get(f"/api/orders/{placed(bob).business_key}/cancellation/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_documents_cancelling_with_its_key_answers_and_codes():
    schema = SchemaGenerator().get_schema(public=True)
    operation = schema["paths"]["/api/orders/{order_id}/cancel/"]["post"]
    assert operation["operationId"] == "orders_cancel"
    headers = [p for p in operation["parameters"] if p["in"] == "header"]
    assert [(p["name"], p["required"]) for p in headers] == [("Idempotency-Key", True)]
    assert {"202", "400", "401", "404", "409", "422"} <= set(operation["responses"])
    refusal = schema["components"]["schemas"]["CancellationRefusalOutput"]
    assert refusal["properties"]["code"]["allOf"] == [{"$ref": "#/components/schemas/CancelRefusalCodeEnum"}]
    codes = schema["components"]["schemas"]["CancelRefusalCodeEnum"]["enum"]
    assert set(codes) == {
        "not_found",
        "already_cancelled",
        "cancelling",
        "confirming",
        "window_passed",
        "not_cancellable",
    }
    assert "get" in schema["paths"]["/api/orders/{order_id}/cancellation/"]


# --- the browsable API ---------------------------------------------------------------------------


def test_the_browsable_page_cancels_once_with_the_key_its_form_carries(alice):
    saga = placed(alice)
    browser = Client()
    browser.force_login(alice)
    url = f"/api/orders/{saga.business_key}/cancel/"
    page = browser.get(url, HTTP_ACCEPT="text/html").content.decode()
    assert 'name="idempotency_key"' in page and 'name="reason"' in page
    form = {"reason": "", "idempotency_key": str(uuid.uuid4())}
    first = browser.post(url, form, HTTP_ACCEPT="text/html")
    again = browser.post(url, form, HTTP_ACCEPT="text/html")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again["Idempotent-Replayed"] == "true"
    assert cancellations(saga).count() == 1
