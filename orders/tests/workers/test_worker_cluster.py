"""Sagas run by a real `manage.py qcluster` started by the test."""

import random
import time
from decimal import Decimal

import pytest
from django.db.models import Sum

from inventory.models import Product, Reservation
from inventory.tests.factories import ProductFactory
from orders.placement import order_place
from payments.models import CustomerAccount, Payment
from payments.tests.factories import AccountFactory
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus
from sagas.testing.cluster import WorkerCluster, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]


def test_fifty_orders_through_a_real_cluster_all_finish_and_the_totals_add_up():
    customers = [AccountFactory(customer=f"buyer{n}", balance=Decimal("200.00")) for n in range(10)]
    products = [ProductFactory(sku=f"ITEM-{n}", unit_price=Decimal("15.00"), stock_on_hand=20) for n in range(3)]
    rng = random.Random(7)
    for _ in range(50):
        order_place(customer=rng.choice(customers).customer, sku=rng.choice(products).sku, quantity=rng.randint(1, 4))
    started = time.monotonic()
    with WorkerCluster(workers=2) as cluster:
        wait_until(
            lambda: not SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).exists(),
            timeout=120,
            what="every saga to reach a terminal state",
        )
        elapsed = time.monotonic() - started
    print(f"50 sagas finished through the cluster in {elapsed:.1f}s")
    assert cluster.process.returncode is not None
    statuses = set(SagaInstance.objects.values_list("status", flat=True))
    assert statuses <= {SagaStatus.COMPLETED, SagaStatus.COMPENSATED}
    captured = Payment.objects.using("payments").filter(status=Payment.Status.CAPTURED).aggregate(s=Sum("amount"))["s"]
    balances = CustomerAccount.objects.using("payments").aggregate(s=Sum("balance"))["s"]
    assert balances + (captured or 0) == Decimal("2000.00")
    committed = Reservation.objects.using("inventory").filter(status=Reservation.Status.COMMITTED)
    sold = committed.aggregate(s=Sum("quantity"))["s"] or 0
    on_hand = Product.objects.using("inventory").aggregate(s=Sum("stock_on_hand"))["s"]
    assert on_hand + sold == 60
    assert not Reservation.objects.using("inventory").filter(status=Reservation.Status.ACTIVE).exists()
    completed = SagaInstance.objects.filter(status=SagaStatus.COMPLETED).count()
    assert Payment.objects.using("payments").filter(status=Payment.Status.CAPTURED).count() == completed
