"""retry_saga, compensate_saga and resume_saga on the toy booking: an operator steers a saga no business app defines."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from sagas.consistency import find_violations
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog
from sagas.participant import faults
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def run(command, *args, **options):
    out = io.StringIO()
    call_command(command, *args, stdout=out, **options)
    return out.getvalue()


def audit_rows(saga):
    return list(
        SagaStepLog.objects.filter(saga=saga, direction=Direction.OPERATOR).values_list("action", "actor", "reason")
    )


def kinds(saga):
    return sorted(kind for _, kind, _ in toy.ledger_rows([str(saga.pk)]))


@pytest.fixture
def release_failed(db):
    """A booking over the limit whose release kept failing: FAILED while compensating."""
    down = FaultRuleFactory(operation=toy.fault_point("release_units"), mode="transient")
    saga = toy.booked(toy.LIMIT + 1)
    assert (saga.status, saga.direction, saga.current_step) == (SagaStatus.FAILED, Direction.COMPENSATION, "book_units")
    down.delete()
    faults.clear_cache()
    return saga


@pytest.fixture
def running(db):
    """A booking waiting to retry its check after a transient error."""
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=1)
    saga, _ = saga_start(toy.NAME, {"units": 2})
    drain(fast_forward=False)
    saga.refresh_from_db()
    assert (saga.status, saga.current_step) == (SagaStatus.RUNNING, "check_limit")
    return saga


def test_retry_saga_runs_the_failed_compensation_again_and_the_saga_is_compensated(release_failed):
    out = run("retry_saga", str(release_failed.pk), reason="the ledger is back", actor="olga")
    assert "FAILED at book_units (compensation) -> COMPENSATING at book_units (compensation)." in out
    drain()
    release_failed.refresh_from_db()
    assert release_failed.status == SagaStatus.COMPENSATED
    assert kinds(release_failed) == ["BOOKED", "RELEASED"]
    assert audit_rows(release_failed) == [("retry", "olga", "the ledger is back")]
    assert find_violations() == []


def test_retry_saga_refuses_a_saga_that_has_not_failed(db):
    saga = toy.booked(1)
    with pytest.raises(CommandError, match=re.escape("Only a FAILED saga can be retried; this one is COMPLETED.")):
        run("retry_saga", str(saga.pk), reason="just because")
    assert audit_rows(saga) == []


def test_compensate_saga_lists_the_compensations_in_reverse_order_before_asking(running):
    out = run("compensate_saga", str(running.pk), reason="customer called", stdin=io.StringIO("n\n"))
    listing = out[out.index("These compensations will run") :]
    assert listing.index("1. limit_forget (undoes check_limit)") < listing.index("2. units_release (undoes book_units)")
    assert "Not compensated; nothing was changed." in out


def test_compensate_saga_answered_yes_compensates_and_audits(running):
    out = run("compensate_saga", str(running.pk), reason="customer called", actor="olga", stdin=io.StringIO("y\n"))
    assert "-> COMPENSATING at check_limit (compensation)." in out
    drain()
    running.refresh_from_db()
    assert running.status == SagaStatus.COMPENSATED
    assert kinds(running) == ["BOOKED", "RELEASED"]
    assert audit_rows(running) == [("compensate", "olga", "customer called")]
    assert find_violations() == []


def test_compensate_saga_refuses_a_saga_stopped_at_a_pivot_that_may_have_happened(db):
    FaultRuleFactory(operation=toy.fault_point("confirm_booking"), phase="after", mode="transient")
    saga = toy.booked(2)
    assert (saga.status, saga.current_step) == (SagaStatus.FAILED, "confirm_booking")
    with pytest.raises(CommandError, match="confirm_booking\\) was tried and may have taken effect"):
        run("compensate_saga", str(saga.pk), reason="undo it", yes=True)
    assert audit_rows(saga) == []
    assert "RELEASED" not in kinds(saga)


def test_resume_saga_queues_a_stuck_saga_and_audits(running):
    SagaInstance.objects.filter(pk=running.pk).update(next_run_at=timezone.now() + timedelta(hours=1))
    out = run("resume_saga", str(running.pk), reason="stuck after the outage", actor="olga")
    assert "Queued for the workers." in out
    running.refresh_from_db()
    assert running.next_run_at is None
    assert audit_rows(running) == [("resume", "olga", "stuck after the outage")]
    drain()
    running.refresh_from_db()
    assert running.status == SagaStatus.COMPLETED
    assert kinds(running) == ["BOOKED", "CONFIRMED"]


def test_resume_saga_refuses_a_saga_held_by_a_live_lease_unless_forced(running):
    SagaInstance.objects.filter(pk=running.pk).update(
        lease_owner="host:1:abc", lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    with pytest.raises(CommandError, match=r"A worker \(host:1:abc\) holds the saga until .* Use force"):
        run("resume_saga", str(running.pk), reason="looks stuck")
    run("resume_saga", str(running.pk), reason="the worker host is gone", force=True)
    running.refresh_from_db()
    assert running.lease_owner == ""
