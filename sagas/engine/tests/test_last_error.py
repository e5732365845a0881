"""A finished saga's last error says why it finished as it did, whatever happened on the way."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from orders.placement import order_place
from sagas.models import SagaStatus
from sagas.participant import faults
from sagas.services import saga_compensate, saga_retry
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _placed():
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    drain()
    saga.refresh_from_db()
    return saga


@pytest.fixture
def refund_failed(shop):
    """Approval refused after the charge, then the refund kept failing: FAILED while compensating."""
    FaultRuleFactory(operation="orders.order_approve", mode="refuse", message="Order on hold by fraud check")
    refund_fault = FaultRuleFactory(operation="payments.payment_refund", mode="transient")
    saga = _placed()
    assert saga.status == SagaStatus.FAILED
    assert "payments.payment_refund failed" in saga.last_error
    refund_fault.delete()
    faults.clear_cache()
    return saga


def test_a_failed_compensation_retried_to_the_end_shows_why_the_saga_was_compensated(refund_failed, client):
    saga_retry(refund_failed.pk, actor="olga", reason="payments is back")
    drain()
    refund_failed.refresh_from_db()
    assert refund_failed.status == SagaStatus.COMPENSATED
    assert refund_failed.last_error.startswith("approve_order: ")
    assert "Order on hold by fraud check" in refund_failed.last_error
    refunds = refund_failed.steps.filter(step_name="charge_payment", direction="COMPENSATION")
    assert refunds.filter(status="FAILED").exists()  # the step log keeps the errors on the way

    out = io.StringIO()
    call_command("saga_status", str(refund_failed.pk), stdout=out)
    (error_line,) = [line for line in out.getvalue().splitlines() if line.startswith("error ")]
    assert "Order on hold by fraud check" in error_line and "payment_refund failed" not in error_line
    client.force_login(staff_user("root", superuser=True))
    page = client.get(reverse("admin:sagas_sagainstance_change", args=[refund_failed.pk])).content.decode()
    shown = re.search(r'field-last_error_text">.*?<pre[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert "Order on hold by fraud check" in shown and "payment_refund failed" not in shown


def test_a_compensation_that_succeeds_on_a_later_attempt_leaves_the_cause_as_last_error(shop):
    FaultRuleFactory(operation="orders.order_approve", mode="refuse", message="Order on hold by fraud check")
    FaultRuleFactory(operation="payments.payment_refund", mode="transient", remaining=2)
    saga = _placed()
    assert saga.status == SagaStatus.COMPENSATED
    assert saga.last_error.startswith("approve_order: ") and "fraud check" in saga.last_error


def test_a_failed_saga_compensated_by_an_operator_says_so(refund_failed):
    saga_compensate(refund_failed.pk, actor="olga", reason="customer asked to cancel")
    drain()
    refund_failed.refresh_from_db()
    assert refund_failed.status == SagaStatus.COMPENSATED
    assert refund_failed.last_error == "Compensated by olga: customer asked to cancel"


def test_a_refusal_before_anything_was_done_stays_the_last_error(shop):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=11)
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert "Only 10 of WIDGET-1 in stock" in saga.last_error
