"""Recovery from the failures a worker cluster meets, driven in this process step by step.

A lost enqueue, a worker that dies holding a lease, every task delivered twice (one after
the other, and both copies at once), and a compensation that keeps failing until an
operator retries it.
"""

import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from inventory.fault_points import InventoryFault
from inventory.models import Reservation
from inventory.tests.factories import ProductFactory
from orders.fault_points import OrderFault
from orders.models import Order
from orders.placement import order_place
from orders.tests.support.effects import duplicate_effects
from orders.tests.support.helpers import balance, on_hand, order_of, payments_of
from payments.fault_points import PaymentFault
from payments.models import Payment
from payments.tests.factories import AccountFactory
from sagas.consistency import find_violations
from sagas.engine import runner
from sagas.engine.recovery import sweep
from sagas.models import ACTIVE_STATUSES, Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.participant import faults
from sagas.testing.drain import drain
from sagas.tests.attempts import overlapping_attempts, unfinished_attempts
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def one_step_per_task(settings):
    """Every step is its own queued task, so each can be lost or duplicated on its own."""
    settings.SAGA_TASK_BUDGET_SECONDS = 0


def _age(saga: SagaInstance, seconds: int) -> None:
    """Pretend nothing touched the saga for a while."""
    SagaInstance.objects.filter(pk=saga.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def _run_one_task() -> str:
    """Take the oldest queued task and run it, as one worker would."""
    row = OrmQ.objects.using("default").order_by("lock", "id").first()
    task = SignedPackage.loads(row.payload)
    row.delete()
    SagaInstance.objects.filter(pk=task["args"][0]).update(next_run_at=None)
    return runner.run_saga(task["args"][0])


def test_a_saga_committed_but_never_enqueued_is_found_and_finished_by_the_sweep(shop):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    OrmQ.objects.using("default").all().delete()
    assert drain() == 0
    assert sweep(dry_run=True).saga_ids == [], "a fresh saga is not lost yet"

    _age(saga, 120)
    output = StringIO()
    call_command("recover_sagas", stdout=output)
    assert f"idle: {saga.pk}" in output.getvalue()
    drain()

    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert balance("alice") == Decimal("950.00")
    assert find_violations() == []


def test_a_saga_whose_next_step_was_never_enqueued_goes_on_from_that_step(shop, one_step_per_task):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    while SagaInstance.objects.get(pk=saga.pk).current_step != "charge_payment":
        _run_one_task()
    OrmQ.objects.using("default").all().delete()  # the checkpoint committed, its queue row did not survive

    _age(saga, 120)
    assert sweep().idle == [str(saga.pk)]
    drain()

    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert [p.status for p in payments_of(saga)] == [Payment.Status.CAPTURED]
    assert duplicate_effects() == []


def test_a_worker_that_dies_after_its_claim_is_replaced_once_its_lease_runs_out(shop):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    OrmQ.objects.using("default").all().delete()  # the dead worker had taken the task
    claim = runner.claim_next_step(str(saga.pk), "host:4242:dead")
    runner.execute_step(claim)  # the order is created, then the worker dies before its checkpoint

    assert sweep().saga_ids == [], "a live lease is left alone"
    SagaInstance.objects.filter(pk=saga.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert sweep().expired_leases == [str(saga.pk)]
    drain()

    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    lost = SagaStepLog.objects.get(saga=saga, worker="host:4242:dead")
    assert (lost.step_name, lost.status) == ("create_order", StepStatus.ABANDONED)
    assert lost.finished_at is not None
    retried = SagaStepLog.objects.get(saga=saga, step_name="create_order", attempt=2)
    assert retried.status == StepStatus.SUCCEEDED
    assert Order.objects.using("orders").filter(saga_id=saga.pk).count() == 1
    assert find_violations() == []


def test_every_task_delivered_twice_in_a_row_applies_each_effect_once(shop, one_step_per_task):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    sagas = [
        order_place(customer=c, sku="WIDGET-1", quantity=q)[0] for c, q in [("alice", 2), ("bob", 2), ("alice", 11)]
    ]
    ran = 0
    while OrmQ.objects.using("default").exists():
        row = OrmQ.objects.using("default").order_by("lock", "id").first()
        saga_id = SignedPackage.loads(row.payload)["args"][0]
        row.delete()
        SagaInstance.objects.filter(pk=saga_id).update(next_run_at=None)
        runner.run_saga(saga_id)
        runner.run_saga(saga_id)  # the broker delivered it again
        ran += 2
    assert ran > 20

    statuses = [SagaInstance.objects.get(pk=s.pk).status for s in sagas]
    assert statuses == [SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.COMPENSATED]
    assert duplicate_effects() == []
    assert balance("alice") == Decimal("950.00")
    assert balance("bob") == Decimal("30.00")
    assert on_hand("WIDGET-1") == 8
    assert find_violations() == []


def _run_twice_at_once(saga_id: str) -> list[str]:
    """Hand one task to two workers at the same moment, each with its own connections."""
    barrier, results = threading.Barrier(2), []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(runner.run_saga(saga_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_every_task_delivered_to_two_workers_at_once_applies_each_effect_once(one_step_per_task):
    customers = [AccountFactory(customer=f"twin{n}", balance=Decimal("60.00")).customer for n in range(6)]
    ProductFactory(sku="TWIN-1", unit_price=Decimal("25.00"), stock_on_hand=12)
    FaultRuleFactory(operation=InventoryFault.STOCK_RESERVE, phase="after", mode="transient", probability=0.3)
    sagas = [order_place(customer=c, sku="TWIN-1", quantity=1 + n % 3)[0] for n, c in enumerate(customers * 3)]
    outcomes: list[str] = []
    for _ in range(2000):
        row = OrmQ.objects.using("default").order_by("lock", "id").first()
        if row is None:
            break
        saga_id = SignedPackage.loads(row.payload)["args"][0]
        row.delete()
        SagaInstance.objects.filter(pk=saga_id).update(next_run_at=None)
        outcomes.extend(_run_twice_at_once(saga_id))

    assert not SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).exists()
    assert SagaInstance.objects.filter(status=SagaStatus.COMPLETED).exists()
    assert "idle" in outcomes, "some second copies must have found the saga taken"
    assert duplicate_effects() == []
    assert overlapping_attempts([str(s.pk) for s in sagas]) == []
    assert unfinished_attempts() == []
    assert find_violations() == []


def test_a_compensation_that_keeps_failing_stops_as_failed_until_an_operator_retries_it(shop):
    FaultRuleFactory(operation=OrderFault.ORDER_APPROVE, mode="refuse", message="manual review rejected")
    refund_down = FaultRuleFactory(operation=PaymentFault.PAYMENT_REFUND, mode="transient")
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    drain()

    saga.refresh_from_db()
    assert saga.status == SagaStatus.FAILED
    assert (saga.direction, saga.current_step) == (Direction.COMPENSATION, "charge_payment")
    assert "charge_payment" in saga.last_error and "InjectedTransientError" in saga.last_error
    failed_refunds = saga.steps.filter(step_name="charge_payment", direction=Direction.COMPENSATION)
    assert failed_refunds.filter(status=StepStatus.FAILED).count() == 5
    assert balance("alice") == Decimal("950.00"), "the money is not back yet"

    refund_down.enabled = False
    refund_down.save()
    faults.clear_cache()
    output = StringIO()
    call_command("retry_saga", str(saga.pk), reason="payments is back up", actor="oncall", stdout=output)
    assert "FAILED" in output.getvalue() and "COMPENSATING" in output.getvalue()
    drain()

    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert balance("alice") == Decimal("1000.00")
    assert on_hand("WIDGET-1") == 10
    assert order_of(saga).status == Order.Status.CANCELLED
    assert not Reservation.objects.using("inventory").filter(status=Reservation.Status.ACTIVE).exists()
    audit = saga.steps.get(direction=Direction.OPERATOR, action="retry")
    assert (audit.actor, audit.reason) == ("oncall", "payments is back up")
    assert find_violations() == []


def test_a_saga_waiting_in_the_queue_is_not_kicked_again_however_long_it_waits(shop):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    _age(saga, 120)  # a long backlog: its row is due but no worker has taken it yet

    report = sweep()

    assert (report.saga_ids, report.already_queued) == ([], [str(saga.pk)])
    assert OrmQ.objects.using("default").count() == 1
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
