import uuid
from decimal import Decimal

import pytest

from orders import services
from orders.errors import InvalidOrderTransition, OrderNotFound
from orders.models import Order, OrderLine
from sagas.participant.refusals import ActionBlocked

pytestmark = pytest.mark.django_db(databases=["default", "orders"])

LINE = {"sku": "WIDGET-1", "quantity": 3, "unit_price": "25.00"}


def create(key="o1", order_id=None):
    return services.order_create(key=key, order_id=order_id or uuid.uuid4(), customer="erin", lines=[LINE])


def test_create_makes_a_pending_order_with_its_lines_and_total():
    result = create()
    order = Order.objects.using("orders").get(pk=result["order_id"])
    assert order.status == Order.Status.PENDING
    assert order.total == Decimal("75.00")
    assert list(order.lines.values_list("sku", "quantity", "line_total")) == [("WIDGET-1", 3, Decimal("75.00"))]


def test_create_twice_with_one_key_makes_one_order():
    order_id = uuid.uuid4()
    assert create(key="same", order_id=order_id) == create(key="same", order_id=order_id)
    assert Order.objects.using("orders").count() == 1
    assert OrderLine.objects.using("orders").count() == 1


def test_approve_is_idempotent_and_final():
    order_id = uuid.uuid4()
    create(key="a", order_id=order_id)
    services.order_approve(key="a:approve", order_id=order_id)
    services.order_approve(key="a:approve", order_id=order_id)
    assert Order.objects.using("orders").get(pk=order_id).status == Order.Status.APPROVED
    with pytest.raises(InvalidOrderTransition):
        services.order_cancel(key="a:cancel", create_key="a")
    assert Order.objects.using("orders").get(pk=order_id).status == Order.Status.APPROVED


def test_approve_of_an_unknown_order_is_refused():
    with pytest.raises(OrderNotFound):
        services.order_approve(key="x", order_id=uuid.uuid4())


def test_cancel_records_the_reason_once():
    order_id = uuid.uuid4()
    create(key="c", order_id=order_id)
    services.order_cancel(key="c:cancel", create_key="c", reason="out of stock")
    services.order_cancel(key="c:cancel", create_key="c", reason="out of stock")
    order = Order.objects.using("orders").get(pk=order_id)
    assert (order.status, order.cancel_reason) == (Order.Status.CANCELLED, "out of stock")


def test_cancel_before_create_blocks_the_late_create():
    assert services.order_cancel(key="late:cancel", create_key="late")["empty"] is True
    with pytest.raises(ActionBlocked):
        create(key="late")
    assert not Order.objects.using("orders").exists()
