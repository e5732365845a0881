"""Recovery from a worker cluster's failures, on the toy booking: the engine needs no order to heal.

Driven in this process step by step: a lost enqueue, a lost next step, a worker that dies
holding a lease, every task delivered twice (in a row, and on PostgreSQL at the same moment),
and a saga that waits in a long queue. The toy's ledger keys each effect by its idempotency
key and its invariant counts them, so an effect applied twice or a release missing shows.
"""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from sagas.consistency import find_violations
from sagas.engine import runner
from sagas.engine.recovery import sweep
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.attempts import overlapping_attempts, unfinished_attempts
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def one_step_per_task(settings):
    """Every step is its own queued task, so each can be lost or duplicated on its own."""
    settings.SAGA_TASK_BUDGET_SECONDS = 0


def start(units: int = 2) -> SagaInstance:
    return saga_start(toy.NAME, {"units": units})[0]


def kinds(saga: SagaInstance) -> list[str]:
    return sorted(kind for _, kind, _ in toy.ledger_rows([str(saga.pk)]))


def _age(saga: SagaInstance, seconds: int) -> None:
    """Pretend nothing touched the saga for a while."""
    SagaInstance.objects.filter(pk=saga.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def _take_task() -> str:
    """Take the oldest queued task off the queue, as a worker would; the saga id it carries."""
    row = OrmQ.objects.using("default").order_by("lock", "id").first()
    saga_id = SignedPackage.loads(row.payload)["args"][0]
    row.delete()
    SagaInstance.objects.filter(pk=saga_id).update(next_run_at=None)
    return saga_id


def test_a_saga_committed_but_never_enqueued_is_found_and_finished_by_the_sweep():
    saga = start()
    OrmQ.objects.using("default").all().delete()
    assert drain() == 0
    assert sweep(dry_run=True).saga_ids == [], "a fresh saga is not lost yet"

    _age(saga, 120)
    output = StringIO()
    call_command("recover_sagas", stdout=output)
    assert f"idle: {saga.pk}" in output.getvalue()
    drain()

    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert kinds(saga) == ["BOOKED", "CONFIRMED"]
    assert find_violations() == []


def test_a_saga_whose_next_step_was_never_enqueued_goes_on_from_that_step(one_step_per_task):
    saga = start()
    while SagaInstance.objects.get(pk=saga.pk).current_step != "confirm_booking":
        runner.run_saga(_take_task())
    OrmQ.objects.using("default").all().delete()  # the checkpoint committed, its queue row did not survive

    _age(saga, 120)
    assert sweep().idle == [str(saga.pk)]
    drain()

    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert list(saga.steps.filter(step_name="book_units").values_list("attempt", flat=True)) == [1]
    assert find_violations() == []


def test_a_worker_that_dies_after_its_claim_is_replaced_once_its_lease_runs_out():
    saga = start()
    OrmQ.objects.using("default").all().delete()  # the dead worker had taken the task
    claim = runner.claim_next_step(str(saga.pk), "host:4242:dead")
    runner.execute_step(claim)  # the units are booked, then the worker dies before its checkpoint

    assert sweep().saga_ids == [], "a live lease is left alone"
    SagaInstance.objects.filter(pk=saga.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert sweep().expired_leases == [str(saga.pk)]
    drain()

    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    lost = SagaStepLog.objects.get(saga=saga, worker="host:4242:dead")
    assert (lost.step_name, lost.status) == ("book_units", StepStatus.ABANDONED)
    assert lost.finished_at is not None
    retried = SagaStepLog.objects.get(saga=saga, step_name="book_units", attempt=2)
    assert retried.status == StepStatus.SUCCEEDED
    assert kinds(saga) == ["BOOKED", "CONFIRMED"], "the second attempt booked under the first one's key"
    assert find_violations() == []


def test_every_task_delivered_twice_in_a_row_applies_each_effect_once(one_step_per_task):
    sagas = [start(units) for units in (2, toy.LIMIT + 1, 3)]
    ran = 0
    while OrmQ.objects.using("default").exists():
        saga_id = _take_task()
        runner.run_saga(saga_id)
        runner.run_saga(saga_id)  # the broker delivered it again
        ran += 2
    assert ran >= 16

    statuses = [SagaInstance.objects.get(pk=s.pk).status for s in sagas]
    assert statuses == [SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.COMPLETED]
    assert [kinds(s) for s in sagas] == [["BOOKED", "CONFIRMED"], ["BOOKED", "RELEASED"], ["BOOKED", "CONFIRMED"]]
    assert overlapping_attempts([str(s.pk) for s in sagas]) == []
    assert find_violations() == []


def _run_twice_at_once(saga_id: str) -> list[str]:
    """Hand one task to two workers at the same moment, each with its own connections."""
    barrier, results = threading.Barrier(2), []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(runner.run_saga(saga_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_every_task_delivered_to_two_workers_at_once_applies_each_effect_once(one_step_per_task):
    FaultRuleFactory(operation=toy.fault_point("book_units"), phase="after", mode="transient", probability=0.3)
    sagas = [start(1 + n % 7) for n in range(18)]
    outcomes: list[str] = []
    for _ in range(2000):
        if not OrmQ.objects.using("default").exists():
            break
        outcomes.extend(_run_twice_at_once(_take_task()))

    assert not SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).exists()
    assert SagaInstance.objects.filter(status=SagaStatus.COMPLETED).exists()
    assert "idle" in outcomes, "some second copies must have found the saga taken"
    assert overlapping_attempts([str(s.pk) for s in sagas]) == []
    assert unfinished_attempts() == []
    assert find_violations() == []


def test_a_saga_waiting_in_the_queue_is_not_kicked_again_however_long_it_waits():
    saga = start()
    _age(saga, 120)  # a long backlog: its row is due but no worker has taken it yet

    report = sweep()

    assert (report.saga_ids, report.already_queued) == ([], [str(saga.pk)])
    assert OrmQ.objects.using("default").count() == 1
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
