"""Idempotency-Key edge cases: a request still in flight, one that died before answering, and
keys that carry over to the saga whichever style it runs in."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from inventory.tests.factories import ProductFactory
from orders.models import Order
from orders.placement import order_place
from orders.tests.support.api import make_user, place
from sagas.api import idempotency
from sagas.models import IdempotentRequest, SagaInstance, SagaStyle
from sagas.participant.customers import customer_key
from sagas.testing.choreography import drain_events
from sagas.tests.api_helpers import token_client

pytestmark = pytest.mark.django_db(databases="__all__")

WIDGETS = {"sku": "WIDGET-1", "quantity": 2}


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.fixture
def alice(db):
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=10)
    return make_user("alice", account=Decimal("1000.00"))


def in_flight(user, key: str, age: timedelta = timedelta(0)) -> IdempotentRequest:
    """The row a first request leaves while it runs (or after it died)."""
    row = IdempotentRequest.objects.create(
        user_id=user.pk,
        key=key,
        method="POST",
        path="/api/orders/",
        fingerprint=idempotency.fingerprint("POST", "/api/orders/", WIDGETS),
    )
    IdempotentRequest.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def test_a_repeat_while_the_first_is_still_running_gets_409_after_waiting(alice, monkeypatch):
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT_SECONDS", 0.3)
    in_flight(alice, "busy")
    response = place(token_client(alice), WIDGETS, key="busy")
    assert response.status_code == 409
    assert "still being processed" in response.json()["detail"]
    assert SagaInstance.objects.count() == 0


def test_a_repeat_with_another_body_is_refused_at_once_even_while_the_first_runs(alice):
    in_flight(alice, "busy")
    response = place(token_client(alice), {"sku": "WIDGET-1", "quantity": 5}, key="busy")
    assert response.status_code == 422


def test_a_request_that_died_before_answering_is_taken_over_and_keeps_its_saga(alice):
    saga, _ = order_place(
        customer=customer_key(alice), sku="WIDGET-1", quantity=2, idempotency_key=f"api:{alice.pk}:lost"
    )
    in_flight(alice, "lost", age=timedelta(seconds=idempotency.ABANDONED_AFTER_SECONDS + 1))
    response = place(token_client(alice), WIDGETS, key="lost")
    assert response.status_code == 202
    assert response.json()["id"] == str(saga.business_key)
    assert SagaInstance.objects.count() == 1
    assert IdempotentRequest.objects.get().response_status == 202


def test_only_the_accepted_answer_is_stored(alice):
    place(token_client(alice), WIDGETS, key="k")
    row = IdempotentRequest.objects.get()
    assert (row.response_status, row.response_body["sku"]) == (202, "WIDGET-1")
    assert row.response_headers["Location"].endswith(f"/api/orders/{row.response_body['id']}/")


def test_a_choreographed_order_is_placed_and_replayed_the_same_way(alice):
    api = token_client(alice)
    first = place(api, {**WIDGETS, "style": "choreography"}, key="c-1")
    again = place(api, {**WIDGETS, "style": "choreography"}, key="c-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    saga = SagaInstance.objects.get()
    assert saga.style == SagaStyle.CHOREOGRAPHY
    drain_events()
    body = api.get(first["Location"]).json()
    assert (body["status"], body["saga"]["status"], body["saga"]["style"]) == ("APPROVED", "COMPLETED", "choreography")
    assert Order.objects.using("orders").get().status == Order.Status.APPROVED
