"""A choreographed delivery whose worker dies mid-flight is logged ABANDONED, under that worker.

The worker here is a forked copy of the test process running the queued task, as a django-q2
worker would, killed with SIGKILL while a service handles an event. No task outlives
django-q2's timeout, so once that time has passed the next delivery of the saga (the sweep's
relay of the event the worker left pending) logs the run as cut short.
"""

import os
import signal
import time
from decimal import Decimal

import pytest
from django.db import connections
from django.test import override_settings
from django.utils.module_loading import import_string
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from inventory.tests.factories import ProductFactory
from orders import events as ev
from orders.placement import order_place
from payments.fault_points import PaymentFault
from payments.models import Payment
from payments.tests.factories import AccountFactory
from sagas.choreography import monitor
from sagas.models import SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.testing.choreography import drain_events
from sagas.testing.cluster import wait_until
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def run_task_in_child(payload: bytes | str) -> int:
    """Fork a process that runs one queued task, as a worker does; its pid."""
    task = SignedPackage.loads(payload)
    for connection in connections.all():
        connection.close()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns to pytest
        try:
            import_string(task["func"])(*task["args"], **task.get("kwargs", {}))
        finally:
            os._exit(0)
    return pid


def runs_on(saga_id) -> dict:
    return SagaInstance.objects.get(pk=saga_id).context.get(monitor.DELIVERIES, {})


@override_settings(SAGA_LEASE_MARGIN_SECONDS=1)
def test_a_worker_killed_while_a_service_handles_an_event_leaves_that_delivery_abandoned(monkeypatch):
    monkeypatch.setattr(Conf, "TIMEOUT", 2)  # a task may run 2 s (+1 s margin)
    AccountFactory(customer="alice", balance=Decimal("100.00"))
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("10.00"), stock_on_hand=5)
    # The charge waits before its effect: the worker is inside payments when it is killed.
    FaultRuleFactory(operation=PaymentFault.PAYMENT_CHARGE, mode="delay", delay_seconds=8, remaining=1)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1, style="choreography")
    row = OrmQ.objects.using("default").get()
    row.delete()  # the worker took it

    pid = run_task_in_child(row.payload)
    try:
        wait_until(lambda: f":{pid}:" in "".join(runs_on(saga.pk)), timeout=20, what="the worker to deliver")
        assert [entry["event"] for entry in runs_on(saga.pk).values()] == [ev.STOCK_RESERVED]
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

    cut_short = SagaStepLog.objects.filter(saga=saga, status=StepStatus.ABANDONED)
    monitor.settle_deliveries(str(saga.pk))
    assert not cut_short.exists(), "a run still within its time is not taken for dead"
    time.sleep(3.2)
    drain_events()  # the sweep relays the event the worker left pending; a repeat settles the run

    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    [abandoned] = cut_short
    assert f":{pid}:" in abandoned.worker
    assert abandoned.step_name == ev.STOCK_RESERVED
    assert "stopped before it finished" in abandoned.error_message
    assert monitor.DELIVERIES not in saga.context
    assert Payment.objects.using("payments").count() == 1


def test_a_delivery_that_runs_to_its_end_leaves_no_run_named_on_the_saga():
    AccountFactory(customer="alice", balance=Decimal("100.00"))
    AccountFactory(customer="bob", balance=Decimal("1.00"))
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("10.00"), stock_on_hand=5)
    paid, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1, style="choreography")
    declined, _ = order_place(customer="bob", sku="WIDGET-1", quantity=1, style="choreography")
    drain_events()
    for saga in (paid, declined):
        saga.refresh_from_db()
        assert monitor.DELIVERIES not in saga.context
    assert (paid.status, declined.status) == (SagaStatus.COMPLETED, SagaStatus.COMPENSATED)
    assert not SagaStepLog.objects.filter(status=StepStatus.ABANDONED).exists()
