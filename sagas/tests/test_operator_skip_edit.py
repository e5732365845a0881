"""The operator services for skipping a failed step and for editing a saga's input."""

import pytest

from sagas.engine.queue import queued_saga_ids
from sagas.errors import ActionNotAllowed
from sagas.models import Direction, SagaStatus
from sagas.services import saga_edit_input, saga_skip_step
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.admin_support import saga_row, toy_row

pytestmark = pytest.mark.django_db(databases="__all__")


def test_skipping_a_failed_forward_step_moves_on_to_the_next_step_and_audits():
    saga = toy_row(SagaStatus.FAILED, step_index=2, current_step="confirm_booking")
    skipped = saga_skip_step(saga.pk, actor="olga", reason="confirmed by hand")
    assert skipped.status == SagaStatus.COMPLETED
    assert skipped.context["results"]["confirm_booking"]["skipped_by"] == "olga"
    record = skipped.steps.get(direction=Direction.OPERATOR)
    assert (record.action, record.actor, record.reason) == ("skip_step", "olga", "confirmed by hand")
    assert record.result["step"] == "confirm_booking"


def test_skipping_a_step_before_the_end_enqueues_the_saga_at_the_following_step():
    saga = toy_row(SagaStatus.FAILED)  # stopped at check_limit
    skipped = saga_skip_step(saga.pk, actor="olga", reason="checked by hand")
    assert (skipped.status, skipped.current_step, skipped.attempt) == (SagaStatus.RUNNING, "confirm_booking", 0)
    assert str(saga.pk) in queued_saga_ids()


def test_skipping_a_failed_compensation_goes_on_with_the_compensation_before_it():
    saga = toy_row(SagaStatus.FAILED, direction=Direction.COMPENSATION, step_index=1, current_step="check_limit")
    skipped = saga_skip_step(saga.pk, actor="olga", reason="forgotten by hand")
    assert (skipped.status, skipped.direction, skipped.current_step) == (
        SagaStatus.COMPENSATING,
        Direction.COMPENSATION,
        "book_units",
    )


@pytest.mark.parametrize("status", [SagaStatus.RUNNING, SagaStatus.COMPLETED, SagaStatus.COMPENSATED])
def test_skipping_is_refused_unless_the_saga_failed(status):
    saga = toy_row(status)
    with pytest.raises(ActionNotAllowed, match="FAILED"):
        saga_skip_step(saga.pk, actor="olga", reason="no")
    assert not saga.steps.exists()


def test_editing_the_input_keeps_before_and_after_and_retries_the_step():
    saga = toy_row(SagaStatus.FAILED, units=toy.LIMIT + 1, step_index=0, current_step="book_units", attempt=3)
    new_input = {**saga.context["input"], "units": 3}
    edited = saga_edit_input(saga.pk, actor="root", reason="customer asked for 3", new_input=new_input)
    assert edited.status == SagaStatus.RUNNING
    assert edited.attempt == 0
    assert edited.context["input"]["units"] == 3
    record = edited.steps.get(direction=Direction.OPERATOR)
    assert record.action == "edit_input"
    assert record.result["before"]["units"] == toy.LIMIT + 1
    assert record.result["after"]["units"] == 3
    drain()
    edited.refresh_from_db()
    assert edited.status == SagaStatus.COMPLETED


def test_editing_the_input_cannot_change_the_order_id():
    # The business key belongs to a definition that has one: the order saga's, named "order id".
    saga = saga_row(SagaStatus.FAILED)
    new_input = {**saga.context["input"], "order_id": "00000000-0000-0000-0000-000000000000"}
    with pytest.raises(ActionNotAllowed, match="order id"):
        saga_edit_input(saga.pk, actor="root", reason="typo", new_input=new_input)


def test_editing_the_input_is_refused_for_a_saga_that_did_not_fail():
    saga = toy_row(SagaStatus.COMPLETED)
    with pytest.raises(ActionNotAllowed, match="FAILED"):
        saga_edit_input(saga.pk, actor="root", reason="late", new_input={**saga.context["input"], "units": 2})
