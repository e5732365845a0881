"""A step that failed once and went through in the end reads as done, whichever order the log has them in."""

import pytest
from django.utils import timezone

from orders.placement import order_place
from orders.progress import saga_progress
from sagas.models import Direction, SagaStatus, SagaStepLog, StepStatus
from sagas.participant import faults
from sagas.testing.choreography import drain_events
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _charge(progress):
    return next(step for step in progress.steps if step.name == "charge_payment")


@pytest.mark.parametrize("style", ["orchestration", "choreography"])
def test_a_charge_that_failed_once_and_then_went_through_is_done(shop, settings, style):
    settings.FAULT_INJECTION = True
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", phase="before", remaining=1)
    faults.clear_cache()
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style=style)
    drain() if style == "orchestration" else drain_events()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED

    charge = _charge(saga_progress(saga))

    assert (charge.state, charge.detail) == ("done", "")


def test_a_failed_attempt_logged_after_the_charge_went_through_does_not_undo_it(shop):
    # A choreographed attempt that timed out is logged when its report comes, which may be after the
    # event that says a later attempt charged the customer.
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    drain_events()
    SagaStepLog.objects.create(
        saga=saga,
        step_name="charge_payment",
        direction=Direction.EVENT,
        status=StepStatus.TIMED_OUT,
        attempt=1,
        started_at=timezone.now(),
        idempotency_key=f"saga:{saga.pk}:charge_payment:action",
    )
    saga.refresh_from_db()

    progress = saga_progress(saga)

    assert (_charge(progress).state, _charge(progress).detail) == ("done", "")
    assert progress.outcome.startswith("Your order is confirmed")
