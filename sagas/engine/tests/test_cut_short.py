"""An attempt that an operator's action cut short says so, not that its worker went silent."""

import pytest

from sagas.engine import runner
from sagas.engine.queue import queued_saga_ids
from sagas.models import SagaStatus, SagaStepLog, StepStatus
from sagas.services import saga_compensate, saga_resume, saga_start
from sagas.testing import toy
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def in_flight(db):
    """A saga whose first step a worker has claimed and is running now."""
    saga, _ = saga_start(toy.NAME, {"units": 2})
    assert str(saga.pk) in queued_saga_ids()
    claim = runner.claim_next_step(str(saga.pk), "host:1:busy")
    assert claim is not None and claim.step.name == "book_units"
    return saga, claim


def _attempt(claim) -> SagaStepLog:
    return SagaStepLog.objects.get(pk=claim.log_id)


def test_an_attempt_cut_short_by_an_operators_compensate_says_so(in_flight):
    saga, claim = in_flight
    outcome = runner.execute_step(claim)  # the units are booked; the worker has not checkpointed yet
    saga_compensate(saga.pk, actor="olga", reason="customer called to cancel")
    attempt = _attempt(claim)
    assert attempt.status == StepStatus.ABANDONED
    assert "olga" in attempt.error_message and "compensate" in attempt.error_message
    assert "customer called to cancel" in attempt.error_message
    assert "stopped reporting" not in attempt.error_message

    drain()  # the compensation runs; the worker's late answer is then fenced out
    assert runner.checkpoint_and_claim(claim, outcome, keep_lease=False)[0] == "fenced"
    attempt = _attempt(claim)
    assert attempt.status == StepStatus.ABANDONED
    assert "olga" in attempt.error_message and "stopped reporting" not in attempt.error_message
    assert "succeeded" in attempt.error_message  # what the worker said when it came back
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert sorted(kind for _, kind, _ in toy.ledger_rows([str(saga.pk)])) == ["BOOKED", "RELEASED"]


def test_an_attempt_cut_short_by_a_forced_resume_says_so(in_flight):
    saga, claim = in_flight
    saga_resume(saga.pk, actor="olga", reason="worker host is gone", force=True)
    drain()
    attempt = _attempt(claim)
    assert attempt.status == StepStatus.ABANDONED
    assert "olga" in attempt.error_message and "resume" in attempt.error_message
    assert "stopped reporting" not in attempt.error_message


def test_an_attempt_whose_worker_died_still_says_the_worker_stopped_reporting(in_flight):
    saga, claim = in_flight
    saga.refresh_from_db()
    type(saga).objects.filter(pk=saga.pk).update(lease_expires_at=saga.created_at)  # the lease ran out
    drain()
    assert "stopped reporting" in _attempt(claim).error_message
