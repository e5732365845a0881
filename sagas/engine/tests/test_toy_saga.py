"""The engine runs a saga defined only in its tests: no order, no payment, no stock.

The toy booking (sagas.testing.toy) books units, checks a limit and confirms; its own
invariant is registered with the engine, and check_consistency reports it like any other.
Its steps retry by their policy with a backoff, and what was done is undone in reverse order.
"""

import json

import pytest
from django.core.management import call_command
from django.db import connections
from django_q.models import OrmQ

from sagas.consistency import find_violations
from sagas.engine.definition import RetryPolicy
from sagas.engine.invariants import register_invariants
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.attempts import step_trail
from sagas.tests.factories import FaultRuleFactory

# The project installs the order saga too, and check_consistency runs its invariants on its databases.
pytestmark = pytest.mark.django_db(databases="__all__")


def entries(saga: SagaInstance) -> list[tuple[str, int]]:
    return sorted((kind, units) for _, kind, units in toy.ledger_rows([str(saga.pk)]))


def test_a_booking_within_the_limit_completes_with_one_booking_confirmed():
    saga = toy.booked(3)
    assert saga.status == SagaStatus.COMPLETED
    assert entries(saga) == [("BOOKED", 3), ("CONFIRMED", 3)]
    steps = list(SagaStepLog.objects.filter(saga=saga).order_by("started_at").values_list("step_name", "direction"))
    assert [name for name, _ in steps] == ["book_units", "check_limit", "confirm_booking"]
    assert find_violations() == []


def test_a_booking_over_the_limit_is_refused_and_its_units_released():
    saga = toy.booked(toy.LIMIT + 1)
    assert saga.status == SagaStatus.COMPENSATED
    assert entries(saga) == [("BOOKED", 6), ("RELEASED", 6)]
    assert find_violations() == []


def test_check_consistency_is_clean_when_every_toy_booking_adds_up(capsys):
    toy.booked(2)
    toy.booked(9)
    call_command("check_consistency")
    assert "No violations" in capsys.readouterr().out


def test_check_consistency_reports_a_confirmation_that_never_happened_and_exits_1(capsys):
    saga = toy.booked(2)
    with connections["default"].cursor() as cursor:
        cursor.execute(f"DELETE FROM {toy.LEDGER} WHERE saga_id = %s AND kind = 'CONFIRMED'", [str(saga.pk)])
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_consistency")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"invariant {toy.INVARIANT}  saga {saga.pk}  key -  completed with 1 booked, 0 released, 0 confirmed" in out
    assert f"invariant {toy.INVARIANT}: 1  (a toy booking is confirmed once, or released in full)" in out


def test_check_consistency_reports_units_booked_but_never_released_in_json(capsys):
    saga = toy.booked(9)
    with connections["default"].cursor() as cursor:
        cursor.execute(f"DELETE FROM {toy.LEDGER} WHERE saga_id = %s AND kind = 'RELEASED'", [str(saga.pk)])
    with pytest.raises(SystemExit):
        call_command("check_consistency", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["counts"] == {str(toy.INVARIANT): 1}
    assert report["violations"][0]["saga_id"] == str(saga.pk)


def test_a_definition_may_not_take_the_number_of_an_engine_invariant_or_of_another_definitions():
    with pytest.raises(ValueError, match="engine's own"):
        register_invariants("another_saga", {5: "clashes with the engine"}, lambda context: [])
    with pytest.raises(ValueError, match="toy_booking"):
        register_invariants("another_saga", {toy.INVARIANT: "clashes with the toy"}, lambda context: [])


# --- retries and backoff ----------------------------------------------------------------------


def _attempts(saga: SagaInstance, step: str, direction: str = Direction.FORWARD) -> list[str]:
    return list(
        SagaStepLog.objects.filter(saga=saga, step_name=step, direction=direction)
        .order_by("attempt")
        .values_list("status", flat=True)
    )


def test_a_step_that_fails_twice_is_retried_and_the_booking_completes():
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=2)
    saga = toy.booked(2)
    assert saga.status == SagaStatus.COMPLETED
    assert _attempts(saga, "check_limit") == [StepStatus.FAILED, StepStatus.FAILED, StepStatus.SUCCEEDED]
    assert entries(saga) == [("BOOKED", 2), ("CONFIRMED", 2)]
    assert find_violations() == []


def test_a_retry_waits_for_its_backoff_before_it_runs_again():
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=1)
    saga, _ = saga_start(toy.NAME, {"units": 2})
    drain(fast_forward=False)  # runs what is due now: the first attempt fails, the retry waits
    saga.refresh_from_db()
    assert (saga.status, saga.current_step) == (SagaStatus.RUNNING, "check_limit")
    failed = SagaStepLog.objects.get(saga=saga, step_name="check_limit", attempt=1)
    assert failed.status == StepStatus.FAILED
    assert saga.next_run_at > failed.finished_at
    (row,) = OrmQ.objects.using("default").all()
    assert row.lock > failed.finished_at, "the queued retry is not free to take before its backoff"

    drain()  # the clock moves on
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED


def test_backoff_doubles_with_each_failed_attempt_up_to_its_cap():
    policy = RetryPolicy(backoff_seconds=0.05, backoff_max_seconds=0.15, jitter=0)
    assert [policy.delay(attempt) for attempt in (1, 2, 3, 4)] == [0.05, 0.1, 0.15, 0.15]


def test_a_lost_answer_is_asked_again_under_the_same_key_and_books_once():
    FaultRuleFactory(operation=toy.fault_point("book_units"), phase="after", mode="transient", remaining=1)
    saga = toy.booked(2)
    assert saga.status == SagaStatus.COMPLETED
    assert _attempts(saga, "book_units") == [StepStatus.FAILED, StepStatus.SUCCEEDED]
    assert entries(saga) == [("BOOKED", 2), ("CONFIRMED", 2)]
    assert find_violations() == []


# --- compensation -----------------------------------------------------------------------------


def test_retries_used_up_undo_the_unknown_step_and_then_the_one_before_in_reverse_order():
    FaultRuleFactory(operation=toy.fault_point("check_limit"), phase="after", mode="transient")
    saga = toy.booked(2)
    assert saga.status == SagaStatus.COMPENSATED
    assert step_trail(saga) == [
        ("book_units", Direction.FORWARD, StepStatus.SUCCEEDED),
        ("check_limit", Direction.FORWARD, StepStatus.FAILED),
        ("check_limit", Direction.FORWARD, StepStatus.FAILED),
        ("check_limit", Direction.FORWARD, StepStatus.FAILED),
        ("check_limit", Direction.COMPENSATION, StepStatus.SUCCEEDED),
        ("book_units", Direction.COMPENSATION, StepStatus.SUCCEEDED),
    ]
    assert entries(saga) == [("BOOKED", 2), ("RELEASED", 2)]
    assert find_violations() == []


def test_a_refusal_undoes_only_the_steps_before_it():
    saga = toy.booked(toy.LIMIT + 1)
    assert [(step, direction) for step, direction, _ in step_trail(saga)] == [
        ("book_units", Direction.FORWARD),
        ("check_limit", Direction.FORWARD),
        ("book_units", Direction.COMPENSATION),
    ]


def test_a_compensation_that_keeps_failing_stops_the_saga_as_failed_for_an_operator():
    FaultRuleFactory(operation=toy.fault_point("release_units"), mode="transient")
    saga = toy.booked(toy.LIMIT + 1)
    assert (saga.status, saga.direction, saga.current_step) == (SagaStatus.FAILED, Direction.COMPENSATION, "book_units")
    assert _attempts(saga, "book_units", Direction.COMPENSATION) == [StepStatus.FAILED] * 5
    assert entries(saga) == [("BOOKED", 6)]


def test_a_pivot_whose_outcome_is_unknown_is_never_compensated():
    FaultRuleFactory(operation=toy.fault_point("confirm_booking"), phase="after", mode="transient")
    saga = toy.booked(2)
    assert (saga.status, saga.current_step) == (SagaStatus.FAILED, "confirm_booking")
    assert not saga.steps.filter(direction=Direction.COMPENSATION).exists()
    assert entries(saga) == [("BOOKED", 2), ("CONFIRMED", 2)]
