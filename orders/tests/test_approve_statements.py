"""What approving an order costs in statements on the orders database, and that refusals still say why.

The counts are taken inside the test's transaction, where the call's own transaction is a
savepoint: SAVEPOINT and RELEASE stand where a worker's call has BEGIN and COMMIT, one for one.
"""

import uuid

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from orders import services
from orders.errors import InvalidOrderTransition, OrderNotFound
from orders.models import Order

pytestmark = pytest.mark.django_db(databases=["default", "orders"])

LINE = {"sku": "WIDGET-1", "quantity": 1, "unit_price": "5.00"}


def create(key="o1") -> uuid.UUID:
    order_id = uuid.uuid4()
    services.order_create(key=key, order_id=order_id, customer="erin", lines=[LINE])
    return order_id


@pytest.mark.postgres
def test_approving_is_its_update_and_record_in_one_transaction():
    order_id = create()
    with CaptureQueriesContext(connections["orders"]) as statements:
        result = services.order_approve(key="o1:approve", order_id=order_id)
    # Begin, the conditional status change, the record, commit.
    assert len(statements) == 4, [query["sql"][:80] for query in statements]
    assert not [query for query in statements if query["sql"].startswith("SELECT")]
    assert result == {"order_id": str(order_id), "status": "APPROVED"}


def test_approving_moves_the_order_and_its_updated_at():
    order_id = create()
    before = Order.objects.using("orders").get(pk=order_id).updated_at
    services.order_approve(key="o1:approve", order_id=order_id)
    order = Order.objects.using("orders").get(pk=order_id)
    assert order.status == Order.Status.APPROVED
    assert order.updated_at > before


def test_approving_an_approved_order_under_a_new_key_changes_nothing():
    order_id = create()
    services.order_approve(key="o1:approve", order_id=order_id)
    again = services.order_approve(key="o1:approve-again", order_id=order_id)
    assert again == {"order_id": str(order_id), "status": "APPROVED"}


def test_approving_a_missing_order_is_refused_by_its_id():
    order_id = uuid.uuid4()
    with pytest.raises(OrderNotFound) as refused:
        services.order_approve(key="none:approve", order_id=order_id)
    assert refused.value.details == {"order_id": str(order_id)}


def test_approving_a_cancelled_order_is_refused_and_leaves_it_cancelled():
    order_id = create()
    services.order_cancel(key="o1:cancel", create_key="o1", reason="changed my mind")
    with pytest.raises(InvalidOrderTransition) as refused:
        services.order_approve(key="o1:approve", order_id=order_id)
    assert refused.value.message == f"Order {order_id} is CANCELLED and cannot become APPROVED."
    assert refused.value.details == {"order_id": str(order_id)}
    assert Order.objects.using("orders").get(pk=order_id).status == Order.Status.CANCELLED
