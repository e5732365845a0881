"""A saga defined only in the tests runs through a real `manage.py qcluster`, and survives its workers' deaths.

The workers load the toy booking through SAGA_DEFINITION_MODULES, as a deployment loads a
saga defined outside an app; nothing of the order saga is involved.
"""

import os
import random
import time

import pytest
from django.core.management import call_command

from sagas.consistency import find_violations
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.cluster import Supervisor, WorkerCluster, wait_until
from sagas.tests.attempts import overlapping_attempts, saga_stories, unfinished_attempts
from sagas.tests.factories import FaultRuleFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

TOY_WORKERS = {"SAGA_DEFINITION_MODULES": "sagas.testing.toy"}


def test_toy_bookings_run_through_a_real_worker_cluster_and_every_invariant_holds(capsys):
    units = {saga_start(toy.NAME, {"units": n})[0].pk: n for n in (1, 2, 3, 6, 9)}
    with WorkerCluster(workers=2, env=TOY_WORKERS) as cluster:
        wait_until(
            lambda: not SagaInstance.objects.filter(pk__in=units, status__in=ACTIVE_STATUSES).exists(),
            timeout=120,
            what="every toy booking to finish",
        )
    assert "No saga definition" not in cluster.log()

    statuses = dict(SagaInstance.objects.filter(pk__in=units).values_list("pk", "status"))
    assert statuses == {
        pk: SagaStatus.COMPLETED if n <= toy.LIMIT else SagaStatus.COMPENSATED for pk, n in units.items()
    }
    for pk, n in units.items():
        kinds = sorted(kind for _, kind, _ in toy.ledger_rows([str(pk)]))
        assert kinds == (["BOOKED", "CONFIRMED"] if n <= toy.LIMIT else ["BOOKED", "RELEASED"])
    # Every step attempt was run by a worker process of the cluster (host:pid:token), none by this one.
    pids = {
        owner.split(":")[1] for owner in SagaStepLog.objects.filter(saga_id__in=units).values_list("worker", flat=True)
    }
    assert pids and str(os.getpid()) not in pids

    call_command("check_consistency")
    assert "No violations" in capsys.readouterr().out


@pytest.mark.chaos
def test_toy_bookings_lose_nothing_when_workers_are_killed_mid_step():
    rng = random.Random(90)
    # Slow steps keep the workers busy, so a kill lands inside one; some answers are lost too.
    FaultRuleFactory(operation=toy.fault_point("book_units"), mode="delay", probability=0.6, delay_seconds=0.4)
    FaultRuleFactory(operation=toy.fault_point("confirm_booking"), mode="delay", probability=0.6, delay_seconds=0.4)
    FaultRuleFactory(operation=toy.fault_point("book_units"), phase="after", mode="transient", probability=0.1)
    bookings = [saga_start(toy.NAME, {"units": rng.randint(1, 8)})[0].pk for _ in range(40)]
    env = {**TOY_WORKERS, "SAGA_LEASE_MARGIN_SECONDS": "1"}
    supervisor = Supervisor([WorkerCluster(workers=2, env=env).start()], sweep_every=2.0)
    kills: list[tuple[int, str]] = []
    next_kill = [time.monotonic() + 1]

    def kill_a_busy_worker() -> None:
        if len(kills) < 3 and time.monotonic() >= next_kill[0]:
            hit = supervisor.clusters[0].kill_busy_worker(rng)
            if hit is not None:
                kills.append(hit)
                next_kill[0] = time.monotonic() + rng.uniform(1, 2)

    try:
        supervisor.run_until(
            lambda: not SagaInstance.objects.filter(pk__in=bookings, status__in=ACTIVE_STATUSES).exists(),
            timeout=240,
            interval=0.2,
            on_tick=kill_a_busy_worker,
            what="every toy booking to finish",
        )
    finally:
        supervisor.stop()

    assert len(kills) >= 2
    assert not SagaInstance.objects.filter(pk__in=bookings, status=SagaStatus.FAILED).exists()
    for pid, saga_id in kills:
        interrupted = SagaStepLog.objects.filter(saga_id=saga_id, worker__contains=f":{pid}:")
        assert interrupted.filter(status=StepStatus.ABANDONED).exists(), f"saga {saga_id}: the killed step vanished"
    violations = find_violations()
    assert violations == [], saga_stories(v.saga_id for v in violations)
    assert unfinished_attempts() == []
    assert overlapping_attempts([str(pk) for pk in bookings]) == []
