"""check_consistency proves the engine's own invariants on any saga: here the toy booking, no order.

Each test makes one violation by writing the step log or the saga row as a bug would, and
sees it reported under its number; a clean run reports nothing.
"""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from sagas import consistency
from sagas.consistency import find_violations
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain

# The project installs the order saga too, and check_consistency runs its invariants on its databases.
pytestmark = pytest.mark.django_db(databases="__all__")

SUCCEEDED_TWICE, OVERLAPPING, STUCK = 11, 12, 5


def book(units: int = 1) -> SagaInstance:
    saga, _ = saga_start(toy.NAME, {"units": units})
    drain()
    saga.refresh_from_db()
    return saga


def log(saga: SagaInstance, step: str, direction: str, status: str, started, finished=None, **fields) -> SagaStepLog:
    return SagaStepLog.objects.create(
        saga=saga,
        step_name=step,
        direction=direction,
        status=status,
        started_at=started,
        finished_at=finished,
        attempt=fields.pop("attempt", 1),
        worker=fields.pop("worker", "host:1:w"),
        **fields,
    )


def repeat(row: SagaStepLog, after: timedelta = timedelta(seconds=30)) -> SagaStepLog:
    """The same attempt logged again later, as if the step had run a second time."""
    return log(row.saga, row.step_name, row.direction, row.status, row.started_at + after, row.finished_at + after)


def reported(number: int) -> list[str]:
    return [f"{v.saga_id} {v.message}" for v in find_violations() if v.invariant == number]


def test_toy_sagas_that_ran_as_they_should_break_no_engine_invariant():
    book(2)
    book(toy.LIMIT + 1)
    assert find_violations() == []


# --- 11: no step succeeded twice --------------------------------------------------------------


def test_an_action_that_succeeded_twice_is_reported_with_its_saga_and_step():
    saga = book(2)
    repeat(saga.steps.get(step_name="book_units", direction=Direction.FORWARD))

    assert reported(SUCCEEDED_TWICE) == [f"{saga.pk} book_units (forward) succeeded 2 times"]


def test_a_compensation_that_succeeded_twice_is_reported():
    saga = book(toy.LIMIT + 1)
    assert saga.status == SagaStatus.COMPENSATED
    repeat(saga.steps.get(step_name="book_units", direction=Direction.COMPENSATION))

    assert reported(SUCCEEDED_TWICE) == [f"{saga.pk} book_units (compensation) succeeded 2 times"]


def test_a_step_that_failed_then_succeeded_is_not_a_step_that_succeeded_twice():
    saga = book(2)
    done = saga.steps.get(step_name="check_limit")
    earlier = done.started_at - timedelta(seconds=5)
    log(saga, "check_limit", Direction.FORWARD, StepStatus.FAILED, earlier, earlier + timedelta(seconds=1))

    assert reported(SUCCEEDED_TWICE) == []


def test_an_action_and_its_compensation_each_succeeding_once_is_no_repeat():
    saga = book(toy.LIMIT + 1)
    succeeded = saga.steps.filter(step_name="book_units", status=StepStatus.SUCCEEDED)
    assert sorted(succeeded.values_list("direction", flat=True)) == [Direction.COMPENSATION, Direction.FORWARD]

    assert reported(SUCCEEDED_TWICE) == []


# --- 12: no overlapping attempts --------------------------------------------------------------


def test_two_attempts_running_at_once_are_reported():
    saga = book(2)
    now = timezone.now()
    log(saga, "confirm_booking", Direction.FORWARD, StepStatus.RUNNING, now, worker="host:1:a")
    log(saga, "confirm_booking", Direction.FORWARD, StepStatus.RUNNING, now + timedelta(seconds=1), worker="host:2:b")

    (found,) = reported(OVERLAPPING)
    assert found.startswith(f"{saga.pk} confirm_booking (forward) attempt 1 on host:2:b started at ")
    assert found.endswith("while an earlier attempt of the saga still ran")


def test_an_attempt_that_started_before_the_previous_one_finished_is_reported():
    saga = book(2)
    base = timezone.now() + timedelta(minutes=1)
    first = log(saga, "confirm_booking", Direction.FORWARD, StepStatus.FAILED, base, base + timedelta(seconds=10))
    started = base + timedelta(seconds=5)
    log(
        saga,
        "confirm_booking",
        Direction.FORWARD,
        StepStatus.FAILED,
        started,
        started + timedelta(seconds=6),
        attempt=2,
    )

    (found,) = reported(OVERLAPPING)
    assert found.startswith(f"{saga.pk} confirm_booking (forward) attempt 2 on host:1:w started at ")
    assert f"before an earlier attempt of the saga finished at {first.finished_at:%H:%M:%S.%f} UTC" in found


def test_an_attempt_inside_a_long_earlier_one_is_reported_even_with_a_short_one_between():
    saga = book(2)
    base = timezone.now() + timedelta(minutes=1)
    log(saga, "confirm_booking", Direction.FORWARD, StepStatus.TIMED_OUT, base, base + timedelta(seconds=60))
    log(
        saga,
        "confirm_booking",
        Direction.FORWARD,
        StepStatus.FAILED,
        base + timedelta(seconds=1),
        base + timedelta(seconds=2),
    )
    log(
        saga,
        "confirm_booking",
        Direction.FORWARD,
        StepStatus.FAILED,
        base + timedelta(seconds=3),
        base + timedelta(seconds=4),
    )

    assert len(reported(OVERLAPPING)) == 2


def test_an_attempt_abandoned_after_its_worker_lost_the_lease_overlaps_nothing():
    """A worker frozen past its lease answers late; its fenced answer is logged ABANDONED, never used."""
    saga = book(2)
    confirmed = saga.steps.get(step_name="confirm_booking")
    started = confirmed.started_at - timedelta(seconds=20)
    log(saga, "confirm_booking", Direction.FORWARD, StepStatus.ABANDONED, started, timezone.now(), worker="host:9:z")

    assert reported(OVERLAPPING) == []


def test_attempts_of_different_sagas_at_the_same_time_do_not_overlap():
    one, other = book(2), book(3)
    now = timezone.now()
    log(one, "confirm_booking", Direction.FORWARD, StepStatus.RUNNING, now)
    log(other, "confirm_booking", Direction.FORWARD, StepStatus.RUNNING, now)

    assert reported(OVERLAPPING) == []


def test_events_and_operator_records_are_not_attempts():
    saga = book(2)
    now = timezone.now()
    log(saga, "order-created", Direction.EVENT, StepStatus.RECORDED, now - timedelta(days=1))
    log(saga, "retry", Direction.OPERATOR, StepStatus.RECORDED, now - timedelta(days=1), actor="olga")

    assert reported(OVERLAPPING) == []


# --- 5: nothing stuck -------------------------------------------------------------------------


def test_a_saga_left_past_its_deadline_with_no_lease_is_reported_stuck():
    saga, _ = saga_start(toy.NAME, {"units": 1})
    long_ago = timezone.now() - timedelta(hours=1)
    SagaInstance.objects.filter(pk=saga.pk).update(deadline_at=long_ago, updated_at=long_ago, lease_expires_at=None)

    (found,) = reported(STUCK)
    assert found.startswith(f"{saga.pk} PENDING ") and "past its deadline with no live lease" in found


# --- the offending rows come back a chunk at a time --------------------------------------------


def test_every_violation_is_found_when_the_rows_come_back_in_small_chunks(monkeypatch):
    monkeypatch.setattr(consistency, "CHUNK_SIZE", 2)
    sagas = [book(1) for _ in range(5)]
    for saga in sagas:
        repeat(saga.steps.get(step_name="check_limit"))

    found = {v.saga_id for v in find_violations() if v.invariant == SUCCEEDED_TWICE}

    assert found == {str(saga.pk) for saga in sagas}


# --- the command ------------------------------------------------------------------------------


def test_check_consistency_prints_an_engine_violation_and_its_title_and_exits_1(capsys):
    saga = book(2)
    repeat(saga.steps.get(step_name="confirm_booking"))

    with pytest.raises(SystemExit) as exit_info:
        call_command("check_consistency")

    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"invariant 11  saga {saga.pk}  key -  confirm_booking (forward) succeeded 2 times" in out
    assert "invariant 11: 1  (no step succeeded twice: one successful action" in out


def test_check_consistency_json_counts_the_engine_violations(capsys):
    saga = book(2)
    now = timezone.now()
    log(saga, "confirm_booking", Direction.FORWARD, StepStatus.RUNNING, now)
    log(saga, "confirm_booking", Direction.FORWARD, StepStatus.RUNNING, now + timedelta(seconds=1))

    with pytest.raises(SystemExit):
        call_command("check_consistency", "--json")

    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"12": 1}
    assert report["violations"][0]["saga_id"] == str(saga.pk)
