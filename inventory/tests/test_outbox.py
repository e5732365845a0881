"""Inventory records the event it handled and the event it publishes with each effect, once."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django_q.models import OrmQ

from inventory import selectors, services
from inventory.errors import OutOfStock
from inventory.models import InboxEvent, OutboxEvent, Reservation
from inventory.tests.factories import ProductFactory
from sagas.participant.outbox import Reaction, new_event
from sagas.participant.refusals import ActionBlocked

pytestmark = pytest.mark.django_db(databases=["default", "inventory"])

SAGA = str(uuid.uuid4())
ORDER = {"customer": "alice", "sku": "WIDGET-1", "quantity": 2, "unit_price": "25.00", "total": "50.00"}


@pytest.fixture
def widget():
    return ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=10)


def order_created():
    return new_event("order-created", source="orders", saga_id=SAGA, order_id=uuid.uuid4(), sequence=2, order=ORDER)


def reserve(cause, quantity=2, key="reserve-1"):
    return services.stock_reserve(
        key=key,
        order_id=cause.order_id,
        sku="WIDGET-1",
        quantity=quantity,
        publish=Reaction(cause, "inventory.reserve_stock", on_applied="stock-reserved", on_refused="stock-rejected"),
    )


def outbox():
    return list(OutboxEvent.objects.using("inventory").order_by("created_at"))


def test_a_reservation_writes_its_event_and_the_event_it_handled_with_it(widget):
    cause = order_created()
    result = reserve(cause)
    [event] = outbox()
    assert (event.event_type, event.sequence, str(event.saga_id)) == ("stock-reserved", 3, SAGA)
    payload = event.payload
    assert payload["schema"] == 1 and payload["causation_id"] == cause.id and payload["source"] == "inventory"
    assert payload["order"] == ORDER and payload["data"] == result
    assert payload["id"] == str(event.id) and payload["occurred_at"]
    assert selectors.event_handled(cause.id, "inventory.reserve_stock")
    assert InboxEvent.objects.using("inventory").get().idempotency_key == "reserve-1"


def test_a_repeat_publishes_nothing_more(widget):
    cause = order_created()
    reserve(cause)
    reserve(cause)
    assert len(outbox()) == 1
    assert InboxEvent.objects.using("inventory").count() == 1
    assert Reservation.objects.using("inventory").count() == 1


def test_a_refusal_is_published_with_its_reason_and_takes_nothing(widget):
    with pytest.raises(OutOfStock):
        reserve(order_created(), quantity=11)
    [event] = outbox()
    assert event.event_type == "stock-rejected"
    assert event.payload["data"]["code"] == "out_of_stock"
    assert selectors.product_get("WIDGET-1").stock_on_hand == 10


def test_an_event_that_cannot_be_written_undoes_the_effect_it_announces(widget):
    cause = order_created()
    OutboxEvent.objects.using("inventory").create(
        id=uuid.uuid4(), event_type="stock-reserved", saga_id=SAGA, sequence=3, payload={}
    )
    with pytest.raises(IntegrityError):  # the event conflicts, so the whole transaction rolls back
        reserve(cause, key="reserve-2")
    assert Reservation.objects.using("inventory").count() == 0
    assert selectors.product_get("WIDGET-1").stock_on_hand == 10


def test_giving_up_blocks_a_late_reservation_and_announces_the_rejection(widget):
    cause = order_created()
    assert services.stock_reserve_abandon(
        key="reserve-1",
        reason="gave up",
        publish=Reaction(cause, "inventory.reserve_stock", on_refused="stock-rejected"),
    )
    with pytest.raises(ActionBlocked):
        reserve(cause)
    assert [event.event_type for event in outbox()] == ["stock-rejected"]
    assert outbox()[0].payload["data"]["message"] == "gave up"
    assert selectors.product_get("WIDGET-1").stock_on_hand == 10


def test_giving_up_after_the_reservation_ran_changes_nothing(widget):
    cause = order_created()
    reserve(cause)
    assert not services.stock_reserve_abandon(key="reserve-1", reason="too late")
    assert [event.event_type for event in outbox()] == ["stock-reserved"]


def test_an_empty_release_is_announced_and_blocks_the_reservation(widget):
    cancelled = new_event(
        "order-cancelled", source="orders", saga_id=SAGA, order_id=uuid.uuid4(), sequence=3, order=ORDER
    )
    result = services.reservation_release(
        key="release-1",
        reserve_key="reserve-1",
        publish=Reaction(cancelled, "inventory.release_stock", on_applied="stock-released"),
    )
    assert result["empty"] is True
    assert [(event.event_type, event.sequence) for event in outbox()] == [("stock-released", 4)]
    with pytest.raises(ActionBlocked):
        reserve(order_created())


def test_the_relay_queues_one_delivery_per_subscriber_and_marks_the_event_delivered(widget):
    reserve(order_created())
    relayed = services.outbox_relay()
    assert [event.type for event in relayed] == ["stock-reserved"]
    assert OrmQ.objects.using("default").count() == 1  # one task hands it to payments and the saga monitor
    assert outbox()[0].delivered_at is not None and outbox()[0].delivery_count == 1
    assert services.outbox_relay() == []
