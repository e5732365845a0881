"""The state store on the toy saga: a move of a saga lands whole or not at all, on both paths.

On PostgreSQL each move is one statement (a data-modifying CTE in autocommit); elsewhere the
ORM writes it in one transaction. These tests run on SQLite and on PostgreSQL alike; the
ones marked `postgres` count the statements and hear the NOTIFY of the one-statement path.
"""

import pytest
from django.db import OperationalError, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from sagas.engine import runner, store
from sagas.engine.queue import queued_saga_ids
from sagas.engine.store import SagaWrite
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db


def started() -> SagaInstance:
    saga, _ = saga_start(toy.NAME, {"units": 2})
    OrmQ.objects.all().delete()  # the tests below run the saga themselves
    return saga


def claimed() -> runner.Claim:
    saga = started()
    claim = runner.claim_next_step(str(saga.pk), "host:1:a")
    assert claim is not None
    return claim


def next_attempt(claim: runner.Claim, now) -> SagaStepLog:
    return SagaStepLog(
        saga_id=claim.saga_id,
        step_name="check_limit",
        step_index=1,
        direction=Direction.FORWARD,
        attempt=1,
        status=StepStatus.RUNNING,
        started_at=now,
        worker=claim.owner,
    )


def checkpoint(claim: runner.Claim, version: int, now) -> SagaWrite:
    """The first step's checkpoint with the second step's claim, a note and a queue row."""
    note = SagaStepLog(
        saga_id=claim.saga_id,
        step_name="book_units",
        direction=Direction.SYSTEM,
        status=StepStatus.RECORDED,
        started_at=now,
        finished_at=now,
        actor="engine",
        reason="a note",
    )
    return SagaWrite(
        claim.saga_id,
        version,
        {"step_index": 1, "current_step": "check_limit", "attempt": 1},
        now,
        finish_attempt=(claim.log_id, {"status": StepStatus.SUCCEEDED, "finished_at": now}),
        notes=[note],
        attempt=next_attempt(claim, now),
        enqueue_delay=0.0,
    )


def test_a_move_that_lands_writes_the_saga_its_log_and_its_queue_row_and_names_the_attempt_it_opened():
    claim = claimed()
    now = timezone.now()

    written = store.apply(checkpoint(claim, claim.version, now))

    assert written.moved
    saga = SagaInstance.objects.get(pk=claim.saga_id)
    assert (saga.version, saga.step_index, saga.current_step, saga.updated_at) == (
        claim.version + 1,
        1,
        "check_limit",
        now,
    )
    assert SagaStepLog.objects.get(pk=claim.log_id).status == StepStatus.SUCCEEDED
    opened = SagaStepLog.objects.get(pk=written.attempt_id)
    assert (opened.step_name, opened.status, opened.worker) == ("check_limit", StepStatus.RUNNING, "host:1:a")
    note = SagaStepLog.objects.get(saga_id=claim.saga_id, direction=Direction.SYSTEM)
    assert note.pk < opened.pk, "the attempt is logged after the notes written with it"
    assert queued_saga_ids() == {claim.saga_id}


def test_a_move_fenced_out_writes_none_of_its_rows():
    claim = claimed()
    SagaInstance.objects.filter(pk=claim.saga_id).update(version=claim.version + 7)  # an operator moved it

    written = store.apply(checkpoint(claim, claim.version, timezone.now()))

    assert not written.moved
    assert written.attempt_id is None
    saga = SagaInstance.objects.get(pk=claim.saga_id)
    assert (saga.version, saga.step_index) == (claim.version + 7, 0)
    assert SagaStepLog.objects.get(pk=claim.log_id).status == StepStatus.RUNNING
    assert list(SagaStepLog.objects.filter(saga_id=claim.saga_id).values_list("step_name", flat=True)) == ["book_units"]
    assert not OrmQ.objects.exists()


def test_a_claim_closes_the_attempts_other_workers_left_running_and_not_its_own():
    claim = claimed()
    SagaInstance.objects.filter(pk=claim.saga_id).update(lease_expires_at=timezone.now())  # its worker died

    retaken = runner.claim_next_step(claim.saga_id, "host:2:b")

    assert retaken is not None
    lost = SagaStepLog.objects.get(pk=claim.log_id)
    assert (lost.status, lost.error_message) == (StepStatus.ABANDONED, store.LOST_ATTEMPT_MESSAGE)
    assert SagaStepLog.objects.get(pk=retaken.log_id).status == StepStatus.RUNNING


def test_a_saga_runs_to_its_end_through_the_store():
    saga = started()
    assert runner.run_saga(str(saga.pk)) == runner.CheckpointResult.FINISHED
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert saga.lease_owner == ""
    assert not SagaStepLog.objects.filter(saga=saga, status=StepStatus.RUNNING).exists()
    assert toy.ledger_rows([str(saga.pk)]) != []


@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_is_refused_inside_an_outer_transaction():
    claim = claimed()
    outcome = runner.execute_step(claim)
    with pytest.raises(RuntimeError, match="atomic block"), transaction.atomic(using="default"):
        runner.checkpoint_and_claim(claim, outcome, keep_lease=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # autocommit, as in a worker
def test_on_postgresql_each_move_of_a_saga_is_one_statement():
    if connections["default"].vendor != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    with CaptureQueriesContext(connections["default"]) as creating:
        saga, _ = saga_start(toy.NAME, {"units": 2})
    OrmQ.objects.all().delete()
    with CaptureQueriesContext(connections["default"]) as claiming:
        claim = runner.claim_next_step(str(saga.pk), "host:1:a")
    outcome = runner.execute_step(claim)
    with CaptureQueriesContext(connections["default"]) as checkpointing:
        status, chained = runner.checkpoint_and_claim(claim, outcome, keep_lease=True)

    assert len(creating) == 1, [query["sql"][:80] for query in creating.captured_queries]
    assert len(claiming) == 2, "the read of the saga, then its claim"
    assert len(checkpointing) == 1
    assert status == runner.CheckpointResult.CONTINUE
    assert SagaStepLog.objects.get(pk=chained.log_id).status == StepStatus.RUNNING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_checkpoint_that_queues_the_saga_is_heard_by_listening_workers():
    from sagas.workers.broker import QUEUE_CHANNEL, ListenBroker, notifying

    if connections["default"].vendor != "postgresql" or not notifying():
        pytest.skip("workers listen on PostgreSQL only")
    broker = ListenBroker()
    listener = broker._listening()
    try:
        claim = claimed()
        list(listener.notifies(timeout=0.2))  # the saga's start was heard: not what is tested here
        outcome = runner.execute_step(claim)
        status, _ = runner.checkpoint_and_claim(claim, outcome, keep_lease=False)
        heard = list(listener.notifies(timeout=1.0))
    finally:
        broker._close_listener()
    assert status == runner.CheckpointResult.QUEUED
    assert [note.channel for note in heard] == [QUEUE_CHANNEL]
    assert queued_saga_ids() == {claim.saga_id}


def test_drain_finishes_what_the_store_queued():
    saga, _ = saga_start(toy.NAME, {"units": toy.LIMIT + 1})
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "orders"])
def test_a_claim_after_a_statement_failed_on_a_lost_connection_reconnects_and_lands():
    if connections["default"].vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    saga = started()
    default = connections["default"]
    default.ensure_connection()
    with connections["orders"].cursor() as cursor:  # another connection to the same server
        cursor.execute("SELECT pg_terminate_backend(%s)", [default.connection.info.backend_pid])
    with pytest.raises(OperationalError):
        SagaInstance.objects.count()  # the statement that meets the loss fails, as it must

    claim = runner.claim_next_step(str(saga.pk), "host:1:a")

    assert claim is not None
    assert SagaStepLog.objects.get(pk=claim.log_id).status == StepStatus.RUNNING
