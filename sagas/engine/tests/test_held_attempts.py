"""A worker that was frozen (or otherwise not running) says so in the step log, dated when its answer came.

The freeze is simulated with the clock where only the clock can place it (between a clock
reading and the write that follows); the step log text of a real frozen worker is checked
with a real SIGSTOP in test_frozen_workers.py.
"""

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from sagas.engine import runner
from sagas.models import SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


class ClockFrozenAfterFirstReading:
    """The clock of a process frozen just after it first read the time: later readings come `frozen_for` later."""

    def __init__(self, frozen_for: timedelta):
        self.first = timezone.now()
        self.frozen_for = frozen_for
        self.readings = 0

    def now(self):
        self.readings += 1
        return self.first if self.readings == 1 else timezone.now() + self.frozen_for


@pytest.fixture
def taken_over(db):
    """A saga whose first attempt was running in worker A when its lease ran out and worker B took it over."""
    saga, _ = saga_start(toy.NAME, {"units": 2})
    claim = runner.claim_next_step(str(saga.pk), f"host:{os.getpid()}:frozen")
    outcome = runner.execute_step(claim)  # A ran the step, then stopped running before its checkpoint
    SagaInstance.objects.filter(pk=saga.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    drain()  # B takes the saga over and finishes it
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    return saga, claim, outcome


def test_a_fenced_answer_is_dated_when_it_arrives_not_when_the_frozen_worker_last_read_the_clock(
    taken_over, monkeypatch
):
    saga, claim, outcome = taken_over
    takeover = SagaStepLog.objects.filter(saga=saga, attempt=2, step_name=claim.step.name).get()
    clock = ClockFrozenAfterFirstReading(frozen_for=timedelta(seconds=60))
    monkeypatch.setattr(runner, "timezone", SimpleNamespace(now=clock.now))

    status, _next_claim = runner.checkpoint_and_claim(claim, outcome, keep_lease=False)
    assert status == "fenced"

    attempt = SagaStepLog.objects.get(pk=claim.log_id)
    assert attempt.status == StepStatus.ABANDONED
    assert attempt.finished_at > takeover.started_at, "the answer is dated before the takeover it lost to"
    assert attempt.finished_at >= clock.first + timedelta(seconds=60)


def test_an_answer_after_the_lease_ran_out_says_the_worker_was_frozen_or_held_naming_process_and_saga(
    taken_over, monkeypatch
):
    saga, claim, outcome = taken_over
    clock = ClockFrozenAfterFirstReading(frozen_for=timedelta(seconds=60))
    monkeypatch.setattr(runner, "timezone", SimpleNamespace(now=clock.now))

    runner.checkpoint_and_claim(claim, outcome, keep_lease=False)

    text = SagaStepLog.objects.get(pk=claim.log_id).error_message
    assert f"Worker process {os.getpid()} was frozen or held past its lease on saga {saga.pk}" in text
    assert "its answer (succeeded) came" in text
    assert "stopped reporting" not in text


def test_an_answer_fenced_within_its_lease_still_says_the_lease_was_lost(taken_over):
    _saga, claim, outcome = taken_over
    runner.checkpoint_and_claim(claim, outcome, keep_lease=False)
    text = SagaStepLog.objects.get(pk=claim.log_id).error_message
    assert text.startswith("Lease lost before the checkpoint; outcome was succeeded.")
    assert "frozen" not in text
