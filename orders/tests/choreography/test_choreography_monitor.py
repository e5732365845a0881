"""The monitor's view of a saga when several workers deliver its events at the same moment."""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from inventory.tests.factories import ProductFactory
from orders import events as ev
from orders.choreography import status_for
from orders.placement import order_place
from payments.tests.factories import AccountFactory
from sagas.choreography import monitor
from sagas.choreography.start import saga_events
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog
from sagas.testing.choreography import drain_events


def test_the_status_depends_on_which_events_were_seen_not_on_their_order():
    assert status_for({ev.ORDER_REQUESTED}) == SagaStatus.PENDING
    assert status_for({ev.ORDER_REQUESTED, ev.STOCK_RESERVED}) == SagaStatus.RUNNING
    assert status_for({ev.STOCK_COMMITTED, ev.ORDER_APPROVED}) == SagaStatus.COMPLETED
    assert status_for({ev.ORDER_CANCEL_REQUESTED, ev.ORDER_APPROVED}) == SagaStatus.RUNNING
    assert status_for({ev.PAYMENT_REFUNDED, ev.PAYMENT_DECLINED}) == SagaStatus.COMPENSATING
    assert status_for({ev.PAYMENT_REFUNDED, ev.STOCK_RELEASED, ev.ORDER_CANCELLED}) == SagaStatus.COMPENSATED
    assert status_for({ev.STOCK_COMMITTED, ev.ORDER_APPROVED}, failed=True) == SagaStatus.FAILED


@pytest.mark.postgres
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_events_recorded_by_racing_workers_each_show_once_and_the_status_is_right():
    AccountFactory(customer="alice", balance=Decimal("1000.00"))
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=10)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    drain_events()
    saga.refresh_from_db()
    events = saga_events(saga)
    # Forget what the monitor saw but the request, then let eight workers tell it again, twice each.
    request = saga.context["events"][ev.ORDER_REQUESTED]
    SagaInstance.objects.filter(pk=saga.pk).update(
        status=SagaStatus.PENDING,
        finished_at=None,
        context={**saga.context, "events": {ev.ORDER_REQUESTED: request}, "results": {}},
    )
    SagaStepLog.objects.filter(saga=saga, direction=Direction.EVENT).exclude(step_name=ev.ORDER_REQUESTED).delete()
    version_before = SagaInstance.objects.get(pk=saga.pk).version
    work = [event for event in events if event.type != ev.ORDER_REQUESTED] * 2
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(share):
        try:
            barrier.wait()
            for event in share:
                monitor.record_event(event)
        except BaseException as error:
            errors.append(error)
        finally:
            for alias in connections:
                connections[alias].close()

    threads = [threading.Thread(target=worker, args=(work[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    rows = SagaStepLog.objects.filter(saga=saga, direction=Direction.EVENT)
    assert sorted(rows.values_list("step_name", flat=True)) == sorted(event.type for event in events)
    assert saga.version - version_before == len(events) - 1  # one landed update per new event
