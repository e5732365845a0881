"""A finished choreographed saga's last error says why it finished as it did, as an orchestrated one's does."""

import io

import pytest
from django.core.management import call_command

from orders.placement import order_place
from sagas.models import SagaStatus
from sagas.participant import faults
from sagas.services import saga_compensate, saga_resume
from sagas.testing.choreography import drain_events
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _placed(quantity: int = 2):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=quantity, style="choreography")
    drain_events()
    saga.refresh_from_db()
    return saga


def _error_line(saga) -> str:
    out = io.StringIO()
    call_command("saga_status", str(saga.pk), stdout=out)
    return next((line for line in out.getvalue().splitlines() if line.startswith("error ")), "")


def test_a_handler_that_succeeds_on_a_later_attempt_leaves_a_completed_saga_without_an_error(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=1)
    saga = _placed()
    assert saga.status == SagaStatus.COMPLETED
    assert saga.steps.filter(step_name="charge_payment", status="FAILED").exists()  # the log keeps it
    assert saga.last_error == ""
    assert _error_line(saga) == ""


def test_a_failed_saga_resumed_to_the_end_shows_no_stale_error(shop):
    commit_fault = FaultRuleFactory(operation="inventory.reservation_commit", mode="transient")
    saga = _placed()
    assert saga.status == SagaStatus.FAILED
    assert "inventory.commit_stock" in saga.last_error
    commit_fault.delete()
    faults.clear_cache()

    saga_resume(saga.pk, actor="olga", reason="inventory is back")
    drain_events()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert saga.last_error == ""


def test_a_compensation_that_fails_once_leaves_the_refusal_as_the_cause(shop):
    FaultRuleFactory(operation="inventory.reservation_release", mode="transient", remaining=1)
    FaultRuleFactory(operation="payments.payment_charge", mode="refuse", message="Card declined")
    saga = _placed()
    assert saga.status == SagaStatus.COMPENSATED
    assert saga.steps.filter(step_name="reserve_stock", status="FAILED").exists()
    assert saga.last_error.startswith("payment-declined: ") and "Card declined" in saga.last_error


def test_an_operator_compensate_is_the_cause_whatever_a_compensation_met_on_the_way(shop):
    FaultRuleFactory(operation="inventory.reservation_release", mode="transient", remaining=1)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    saga_compensate(saga.pk, actor="olga", reason="customer asked to cancel")
    drain_events(newest_first=True)  # the cancel reaches the services before the order does
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert saga.steps.filter(step_name="reserve_stock", status="FAILED").exists()
    assert saga.last_error == "Compensated by olga: customer asked to cancel"
    assert "customer asked to cancel" in _error_line(saga)
