"""Saga definitions: their rules, their registry, retry backoff, and where each outcome leads."""

import pytest

from sagas.engine import transitions
from sagas.engine.definition import RetryPolicy, SagaDefinition, Step, get_definition, register
from sagas.engine.transitions import Position
from sagas.models import SagaStatus
from sagas.testing import toy


def noop(call):
    return {}


# Five steps, the first three undoable, the fourth the pivot: every path of the state machine
# has a step to land on. Not registered: transitions are pure functions of the definition.
SHAPE = SagaDefinition(
    "five_steps",
    1,
    (
        Step("open", noop, compensation=noop),
        Step("hold", noop, compensation=noop),
        Step("take", noop, compensation=noop),
        Step("settle", noop, pivot=True),
        Step("finish", noop),
    ),
)


def test_a_step_after_the_pivot_cannot_have_a_compensation():
    with pytest.raises(ValueError, match="pivot"):
        SagaDefinition("bad", 1, (Step("a", noop, pivot=True), Step("b", noop, compensation=noop)))


def test_registering_another_definition_under_a_taken_name_and_version_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register(SagaDefinition(toy.NAME, 1, (Step("x", noop),)))


def test_an_unknown_definition_is_a_lookup_error():
    with pytest.raises(LookupError):
        get_definition("no-such-saga")


def test_backoff_grows_exponentially_up_to_its_cap_with_jitter():
    policy = RetryPolicy(backoff_seconds=1, backoff_max_seconds=5, jitter=0.5)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 5), (9, 5)]:
        delay = policy.delay(attempt)
        assert ceiling * 0.5 <= delay <= ceiling


def test_a_refusal_compensates_only_the_steps_before_it():
    after = transitions.after_refusal(SHAPE, Position(SagaStatus.RUNNING, "FORWARD", 2, 1))
    assert (after.status, after.step_index) == (SagaStatus.COMPENSATING, 1)


def test_exhausted_retries_compensate_the_unknown_step_too():
    after = transitions.exhausted(SHAPE, Position(SagaStatus.RUNNING, "FORWARD", 2, 3))
    assert (after.status, after.step_index) == (SagaStatus.COMPENSATING, 2)


def test_after_the_pivot_exhausted_retries_stop_for_an_operator():
    after = transitions.exhausted(SHAPE, Position(SagaStatus.RUNNING, "FORWARD", 4, 10))
    assert after.status == SagaStatus.FAILED


def test_a_compensation_that_runs_out_of_attempts_fails_the_saga():
    after = transitions.after_error(SHAPE, Position(SagaStatus.COMPENSATING, "COMPENSATION", 1, 5), True, 0.1)
    assert after.status == SagaStatus.FAILED


def test_a_failure_at_the_first_step_compensates_to_nothing():
    after = transitions.after_refusal(SHAPE, Position(SagaStatus.RUNNING, "FORWARD", 0, 1))
    assert after.status == SagaStatus.COMPENSATED
