"""A finished saga's last error says why it finished as it did, whatever happened on the way."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from sagas.models import SagaStatus
from sagas.participant import faults
from sagas.services import saga_compensate, saga_retry
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

OVER_THE_LIMIT = toy.LIMIT + 1


@pytest.fixture
def release_failed(db):
    """The check refused the booking, then the release kept failing: FAILED while compensating."""
    release_fault = FaultRuleFactory(operation=toy.fault_point("release_units"), mode="transient")
    saga = toy.booked(OVER_THE_LIMIT)
    assert saga.status == SagaStatus.FAILED
    assert "toy.release_units failed" in saga.last_error
    release_fault.delete()
    faults.clear_cache()
    return saga


def test_a_failed_compensation_retried_to_the_end_shows_why_the_saga_was_compensated(release_failed, client):
    saga_retry(release_failed.pk, actor="olga", reason="the ledger is back")
    drain()
    release_failed.refresh_from_db()
    assert release_failed.status == SagaStatus.COMPENSATED
    assert release_failed.last_error.startswith("check_limit: ")
    assert "At most 5 units." in release_failed.last_error
    releases = release_failed.steps.filter(step_name="book_units", direction="COMPENSATION")
    assert releases.filter(status="FAILED").exists()  # the step log keeps the errors on the way

    out = io.StringIO()
    call_command("saga_status", str(release_failed.pk), stdout=out)
    (error_line,) = [line for line in out.getvalue().splitlines() if line.startswith("error ")]
    assert "At most 5 units." in error_line and "release_units failed" not in error_line
    client.force_login(staff_user("root", superuser=True))
    page = client.get(reverse("admin:sagas_sagainstance_change", args=[release_failed.pk])).content.decode()
    shown = re.search(r'field-last_error_text">.*?<pre[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert "At most 5 units." in shown and "release_units failed" not in shown


def test_a_compensation_that_succeeds_on_a_later_attempt_leaves_the_cause_as_last_error(db):
    FaultRuleFactory(operation=toy.fault_point("release_units"), mode="transient", remaining=2)
    saga = toy.booked(OVER_THE_LIMIT)
    assert saga.status == SagaStatus.COMPENSATED
    assert saga.last_error.startswith("check_limit: ") and "At most 5 units." in saga.last_error


def test_a_failed_saga_compensated_by_an_operator_says_so(release_failed):
    saga_compensate(release_failed.pk, actor="olga", reason="customer asked to cancel")
    drain()
    release_failed.refresh_from_db()
    assert release_failed.status == SagaStatus.COMPENSATED
    assert release_failed.last_error == "Compensated by olga: customer asked to cancel"


def test_a_refusal_before_anything_was_done_stays_the_last_error(db):
    saga = toy.booked(OVER_THE_LIMIT)
    assert saga.status == SagaStatus.COMPENSATED
    assert "At most 5 units." in saga.last_error
