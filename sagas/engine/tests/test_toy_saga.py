"""The engine runs a saga defined only in its tests: no order, no payment, no stock.

The toy booking (sagas.testing.toy) books units, checks a limit and confirms; its own
invariant is registered with the engine, and check_consistency reports it like any other.
"""

import json

import pytest
from django.core.management import call_command
from django.db import connections

from sagas.consistency import find_violations
from sagas.engine.invariants import register_invariants
from sagas.models import SagaInstance, SagaStatus, SagaStepLog
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain

# The project installs the order saga too, and check_consistency runs its invariants on its databases.
pytestmark = pytest.mark.django_db(databases="__all__")


def book(units: int) -> SagaInstance:
    saga, created = saga_start(toy.NAME, {"units": units})
    assert created
    drain()
    saga.refresh_from_db()
    return saga


def entries(saga: SagaInstance) -> list[tuple[str, int]]:
    return sorted((kind, units) for _, kind, units in toy.ledger_rows([str(saga.pk)]))


def test_a_booking_within_the_limit_completes_with_one_booking_confirmed():
    saga = book(3)
    assert saga.status == SagaStatus.COMPLETED
    assert entries(saga) == [("BOOKED", 3), ("CONFIRMED", 3)]
    steps = list(SagaStepLog.objects.filter(saga=saga).order_by("started_at").values_list("step_name", "direction"))
    assert [name for name, _ in steps] == ["book_units", "check_limit", "confirm_booking"]
    assert find_violations() == []


def test_a_booking_over_the_limit_is_refused_and_its_units_released():
    saga = book(toy.LIMIT + 1)
    assert saga.status == SagaStatus.COMPENSATED
    assert entries(saga) == [("BOOKED", 6), ("RELEASED", 6)]
    assert find_violations() == []


def test_check_consistency_is_clean_when_every_toy_booking_adds_up(capsys):
    book(2)
    book(9)
    call_command("check_consistency")
    assert "No violations" in capsys.readouterr().out


def test_check_consistency_reports_a_confirmation_that_never_happened_and_exits_1(capsys):
    saga = book(2)
    with connections["default"].cursor() as cursor:
        cursor.execute(f"DELETE FROM {toy.LEDGER} WHERE saga_id = %s AND kind = 'CONFIRMED'", [str(saga.pk)])
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_consistency")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"invariant {toy.INVARIANT}  saga {saga.pk}  key -  completed with 1 booked, 0 released, 0 confirmed" in out
    assert f"invariant {toy.INVARIANT}: 1  (a toy booking is confirmed once, or released in full)" in out


def test_check_consistency_reports_units_booked_but_never_released_in_json(capsys):
    saga = book(9)
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
