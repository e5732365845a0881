"""Operators, commands and sweeps on choreographed sagas: what works, what is refused and why."""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import OrmQ

from orders.placement import order_place
from orders.tests.support.helpers import balance, on_hand, order_of, payments_of
from payments.models import Payment
from sagas.choreography.sweep import relay_pending, sweep
from sagas.consistency import find_violations
from sagas.engine import recovery, runner
from sagas.errors import ActionNotAllowed
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.services import compensations_planned, saga_compensate, saga_pause, saga_resume, saga_retry, saga_skip_step
from sagas.testing.choreography import drain_events

pytestmark = pytest.mark.django_db(databases="__all__")


def start(quantity=2):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=quantity, style="choreography")
    return saga


def fresh(saga):
    saga.refresh_from_db()
    return saga


def lose_deliveries_after(saga, event_type):
    """Run the saga until the monitor saw `event_type`, then lose every queued delivery."""
    while event_type not in fresh(saga).context["events"]:
        drain_events(limit=1)
    relay_pending(None)
    OrmQ.objects.using("default").all().delete()  # as if the broker lost them (Redis is at most once)
    drain_events()
    assert fresh(saga).status == SagaStatus.RUNNING


def test_compensating_a_running_saga_publishes_the_cancel_and_the_services_undo_their_work(shop):
    saga = start()
    while "stock-reserved" not in fresh(saga).context["events"]:
        drain_events(limit=1)  # the order exists, the stock is reserved and the charge is under way
    saga_compensate(saga.pk, actor="ops", reason="customer called")
    assert fresh(saga).status == SagaStatus.COMPENSATING
    drain_events()
    saga = fresh(saga)
    assert saga.status == SagaStatus.COMPENSATED
    assert order_of(saga).status == "CANCELLED"
    assert balance("alice") == Decimal("1000.00") and on_hand("WIDGET-1") == 10
    audit = saga.steps.get(direction=Direction.OPERATOR)
    assert (audit.action, audit.actor, audit.reason) == ("compensate", "ops", "customer called")
    request = saga.steps.get(step_name="order-cancel-requested")
    assert request.direction == Direction.EVENT and request.result == {"actor": "ops", "reason": "customer called"}
    assert find_violations() == []


def test_compensation_is_refused_past_the_pivot_with_the_reason(shop):
    saga = start()
    drain_events()
    with pytest.raises(ActionNotAllowed, match="COMPLETED saga cannot be compensated"):
        saga_compensate(saga.pk, actor="ops", reason="too late")


def test_compensation_is_refused_once_the_order_is_approved_even_before_the_stock_is_committed(shop):
    saga = start()
    while "order-approved" not in fresh(saga).context["events"]:
        drain_events(limit=1)
    assert fresh(saga).status == SagaStatus.RUNNING
    with pytest.raises(ActionNotAllowed, match=r"approved \(the pivot\)"):
        saga_compensate(saga.pk, actor="ops", reason="too late")


def test_a_second_compensation_is_refused_while_the_first_is_delivered(shop):
    saga = start()
    saga_compensate(saga.pk, actor="ops", reason="first")
    with pytest.raises(ActionNotAllowed, match="already requested"):
        saga_compensate(saga.pk, actor="ops", reason="second")


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (saga_retry, "no step of its own to retry"),
        (saga_pause, "no driver to pause"),
        (saga_skip_step, "no step to skip"),
    ],
)
def test_actions_that_steer_an_engine_step_are_refused_with_a_reason(shop, action, message):
    saga = start()
    with pytest.raises(ActionNotAllowed, match=message):
        action(saga.pk, actor="ops", reason="trying")
    assert not saga.steps.filter(direction=Direction.OPERATOR).exists()


def test_resume_delivers_again_what_a_lost_task_never_delivered(shop):
    saga = start()
    lose_deliveries_after(saga, "stock-reserved")
    assert fresh(saga).status == SagaStatus.RUNNING
    saga_resume(saga.pk, actor="ops", reason="stuck")
    drain_events()
    saga = fresh(saga)
    assert saga.status == SagaStatus.COMPLETED
    assert [p.status for p in payments_of(saga)] == [Payment.Status.CAPTURED]
    audit = saga.steps.get(direction=Direction.OPERATOR, action="resume")
    assert audit.result["redelivered"] >= 3


def test_resume_is_refused_for_a_finished_saga(shop):
    saga = start()
    drain_events()
    with pytest.raises(ActionNotAllowed, match="this one is COMPLETED"):
        saga_resume(saga.pk, actor="ops", reason="why not")


def test_the_idle_sweep_delivers_again_the_events_of_a_saga_nothing_moves(shop):
    saga = start()
    lose_deliveries_after(saga, "stock-reserved")
    SagaInstance.objects.filter(pk=saga.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    report = sweep(idle_seconds=60)
    assert report.redelivered == [str(saga.pk)]
    drain_events()
    saga = fresh(saga)
    assert saga.status == SagaStatus.COMPLETED
    note = saga.steps.get(direction=Direction.SYSTEM)
    assert "delivered again" in note.reason


def test_past_its_deadline_a_saga_gets_a_cancel_request_and_compensates(shop):
    saga = start()
    lose_deliveries_after(saga, "stock-reserved")
    SagaInstance.objects.filter(pk=saga.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    report = sweep(idle_seconds=3600)
    assert report.cancelled == [str(saga.pk)]
    drain_events()
    saga = fresh(saga)
    assert saga.status == SagaStatus.COMPENSATED
    assert saga.last_error.startswith("Deadline")
    assert saga.steps.get(step_name="order-cancel-requested").result["actor"] == "deadline"
    assert find_violations() == []


def test_the_deadline_does_not_cancel_an_approved_order(shop):
    saga = start()
    while "order-approved" not in fresh(saga).context["events"]:
        drain_events(limit=1)
    SagaInstance.objects.filter(pk=saga.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert sweep(idle_seconds=3600).cancelled == []
    drain_events()
    assert fresh(saga).status == SagaStatus.COMPLETED


def test_the_orchestration_engine_leaves_choreographed_sagas_alone(shop):
    saga = start()
    SagaInstance.objects.filter(pk=saga.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    kicks = recovery.sagas_needing_kick(idle_seconds=1)
    assert all(not queryset.filter(pk=saga.pk).exists() for queryset in kicks.values())
    assert runner.run_saga(str(saga.pk)) == "idle"
    assert not saga.steps.filter(direction__in=[Direction.FORWARD, Direction.COMPENSATION]).exists()


def test_the_compensations_planned_are_each_services_undo(shop):
    saga = start()
    assert compensations_planned(saga) == ["charge_payment", "reserve_stock", "create_order"]


def test_saga_status_shows_a_choreographed_saga_with_its_events_as_steps(shop):
    saga = start()
    drain_events()
    out = io.StringIO()
    call_command("saga_status", str(saga.pk), "--json", stdout=out)
    shown = json.loads(out.getvalue())
    assert shown["style"] == "choreography" and shown["status"] == "COMPLETED"
    assert [step["step"] for step in shown["steps"]] == [
        "order-requested",
        "order-created",
        "stock-reserved",
        "payment-captured",
        "order-approved",
        "stock-committed",
    ]
    assert {step["direction"] for step in shown["steps"]} == {"EVENT"}


def test_every_event_is_one_step_log_row_however_often_it_reaches_the_monitor(shop):
    saga = start()
    drain_events(duplicate=True)
    events = SagaStepLog.objects.filter(saga=saga, direction=Direction.EVENT).exclude(status=StepStatus.FAILED)
    assert events.count() == len(set(events.values_list("idempotency_key", flat=True))) == 6
