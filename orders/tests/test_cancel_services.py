"""The orders service's part of a cancellation: marking an order cancelling, undoing it, marking it cancelled."""

import uuid

import pytest

from orders import services
from orders.errors import InvalidOrderTransition, OrderNotFound
from orders.models import Order
from sagas.participant.refusals import ActionBlocked

pytestmark = pytest.mark.django_db(databases=["default", "orders"])

LINES = [{"sku": "WIDGET-1", "quantity": 2, "unit_price": "25.00"}]


def status(order_id) -> str:
    return Order.objects.using("orders").get(pk=order_id).status


@pytest.fixture
def confirmed():
    order_id = uuid.uuid4()
    services.order_create(key="create", order_id=order_id, customer="1", lines=LINES)
    services.order_approve(key="approve", order_id=order_id)
    return order_id


def test_marking_cancelling_twice_under_one_key_answers_alike(confirmed):
    first = services.order_mark_cancelling(key="mark", order_id=confirmed, reason="too late")
    assert services.order_mark_cancelling(key="mark", order_id=confirmed) == first
    order = Order.objects.using("orders").get(pk=confirmed)
    assert (order.status, order.cancel_reason) == (Order.Status.CANCELLING, "too late")


def test_undoing_the_mark_confirms_the_order_again_once(confirmed):
    services.order_mark_cancelling(key="mark", order_id=confirmed)
    first = services.order_unmark_cancelling(key="unmark", mark_key="mark")
    assert services.order_unmark_cancelling(key="unmark", mark_key="mark") == first
    assert status(confirmed) == Order.Status.APPROVED


def test_an_undo_before_the_mark_blocks_a_late_mark(confirmed):
    assert services.order_unmark_cancelling(key="unmark", mark_key="mark")["empty"]
    with pytest.raises(ActionBlocked):
        services.order_mark_cancelling(key="mark", order_id=confirmed)
    assert status(confirmed) == Order.Status.APPROVED


def test_marking_cancelled_twice_under_one_key_answers_alike(confirmed):
    services.order_mark_cancelling(key="mark", order_id=confirmed)
    first = services.order_mark_cancelled(key="done", order_id=confirmed)
    assert services.order_mark_cancelled(key="done", order_id=confirmed) == first
    assert status(confirmed) == Order.Status.CANCELLED


def test_an_order_not_confirmed_cannot_be_marked_cancelling():
    order_id = uuid.uuid4()
    services.order_create(key="create", order_id=order_id, customer="1", lines=LINES)
    with pytest.raises(InvalidOrderTransition):
        services.order_mark_cancelling(key="mark", order_id=order_id)
    assert status(order_id) == Order.Status.PENDING


def test_a_confirmed_order_is_never_cancelled_without_being_marked_cancelling(confirmed):
    with pytest.raises(InvalidOrderTransition):
        services.order_mark_cancelled(key="done", order_id=confirmed)
    assert status(confirmed) == Order.Status.APPROVED


def test_the_placements_compensation_leaves_an_order_being_cancelled_alone(confirmed):
    services.order_mark_cancelling(key="mark", order_id=confirmed)
    with pytest.raises(InvalidOrderTransition):
        services.order_cancel(key="cancel", create_key="create")
    assert status(confirmed) == Order.Status.CANCELLING


def test_an_unknown_order_is_refused():
    with pytest.raises(OrderNotFound):
        services.order_mark_cancelling(key="mark", order_id=uuid.uuid4())
