"""Orders records the event it handled and the event it publishes with each create, approve or cancel."""

import uuid

import pytest

from orders import selectors, services
from orders.models import InboxEvent, Order, OutboxEvent
from sagas.participant.outbox import Reaction, new_event, publish
from sagas.participant.refusals import ActionBlocked

pytestmark = pytest.mark.django_db(databases=["default", "orders"])

SAGA = str(uuid.uuid4())
ORDER_ID = str(uuid.uuid4())
ORDER = {"customer": "alice", "sku": "WIDGET-1", "quantity": 2, "unit_price": "25.00", "total": "50.00"}
LINES = [{"sku": "WIDGET-1", "quantity": 2, "unit_price": "25.00"}]


def event(event_type, sequence):
    return new_event(event_type, source="sagas", saga_id=SAGA, order_id=ORDER_ID, sequence=sequence, order=ORDER)


def create(cause):
    return services.order_create(
        key="create-1",
        order_id=ORDER_ID,
        customer="alice",
        lines=LINES,
        saga_id=SAGA,
        publish=Reaction(cause, "orders.create_order", on_applied="order-created"),
    )


def cancel(cause):
    return services.order_cancel(
        key="cancel-1",
        create_key="create-1",
        reason="stock-rejected",
        publish=Reaction(cause, "orders.cancel_order", on_applied="order-cancelled"),
    )


def published():
    return [(row.event_type, row.sequence) for row in OutboxEvent.objects.using("orders").order_by("created_at")]


def test_creating_an_order_announces_it_with_its_total():
    request = event("order-requested", 1)
    create(request)
    create(request)
    assert published() == [("order-created", 2)]
    assert OutboxEvent.objects.using("orders").get().payload["data"]["total"] == "50.00"
    assert selectors.event_handled(request.id, "orders.create_order")


def test_approving_announces_the_pivot():
    create(event("order-requested", 1))
    services.order_approve(
        key="approve-1",
        order_id=ORDER_ID,
        publish=Reaction(event("payment-captured", 4), "orders.approve_order", on_applied="order-approved"),
    )
    assert published() == [("order-created", 2), ("order-approved", 5)]


def test_a_cancel_before_the_create_is_announced_and_the_late_create_is_refused():
    cancel(event("order-cancel-requested", 2))
    with pytest.raises(ActionBlocked):
        create(event("order-requested", 1))
    assert published() == [("order-cancelled", 3)]
    assert not Order.objects.using("orders").exists()


def test_one_cancel_is_announced_once_whichever_events_ask_for_it():
    create(event("order-requested", 1))
    cancel(event("stock-rejected", 3))
    cancel(event("order-cancel-requested", 3))
    assert published() == [("order-created", 2), ("order-cancelled", 4)]
    assert InboxEvent.objects.using("orders").count() == 2  # the request and the first cause


@pytest.mark.django_db(databases=["orders"], transaction=True)
def test_an_event_is_only_published_inside_the_transaction_of_its_effect():
    with pytest.raises(RuntimeError, match="inside the transaction of its effect"):
        publish(OutboxEvent, "orders", event("order-created", 2))
