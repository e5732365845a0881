"""check_consistency on committed data: its checks then run at once, each on its own connections.

The other consistency tests run inside a transaction, where the checks run one after the other
on the test's own connections (another connection would not see the test's rows). Here the
rows are committed, so the concurrent path is the one taken, and it must find the same things.
"""

import threading

import pytest
from django.db.models import F

from inventory.models import Product, Reservation
from orders.models import Order
from orders.placement import order_place
from payments.models import CustomerAccount
from sagas import consistency
from sagas.consistency import find_violations
from sagas.models import SagaStatus
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def place(quantity=2):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=quantity)
    drain()
    saga.refresh_from_db()
    return saga


def test_committed_clean_sagas_have_no_violations_when_the_checks_run_at_once(shop, monkeypatch):
    threads: set[str] = set()
    real = consistency._check_attempts

    def watched():
        threads.add(threading.current_thread().name)
        return real()

    monkeypatch.setattr(consistency, "_check_attempts", watched)
    statuses = [place(quantity=2).status, place(quantity=20).status]
    assert statuses == [SagaStatus.COMPLETED, SagaStatus.COMPENSATED]
    assert find_violations() == []
    assert threads and threading.current_thread().name not in threads


def test_committed_broken_orders_are_each_reported_when_the_checks_run_at_once(shop):
    completed, second = place(quantity=2), place(quantity=1)
    Order.objects.using("orders").filter(pk=completed.business_key).update(status=Order.Status.CANCELLED)
    Reservation.objects.using("inventory").filter(order_id=second.business_key).update(status=Reservation.Status.ACTIVE)
    CustomerAccount.objects.using("payments").filter(customer="alice").update(balance=F("balance") + 10)
    Product.objects.using("inventory").filter(sku="WIDGET-1").update(stock_on_hand=F("stock_on_hand") - 1)
    violations = find_violations()
    assert [(v.invariant, v.saga_id) for v in violations if v.invariant == 1] == sorted(
        [(1, str(completed.id)), (1, str(second.id))], key=lambda pair: pair[1]
    )
    assert {v.invariant for v in violations} == {1, 3, 4}
    assert any("order is CANCELLED" in v.message for v in violations)
    assert any("committed stock nothing but ordered 1 x WIDGET-1" in v.message for v in violations)
