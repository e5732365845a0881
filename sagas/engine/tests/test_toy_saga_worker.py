"""A saga defined only in the tests runs through a real `manage.py qcluster`.

The workers load the toy booking through SAGA_DEFINITION_MODULES, as a deployment loads a
saga defined outside an app; nothing of the order saga is involved.
"""

import os

import pytest
from django.core.management import call_command

from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus, SagaStepLog
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.cluster import WorkerCluster, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]


def test_toy_bookings_run_through_a_real_worker_cluster_and_every_invariant_holds(capsys):
    units = {saga_start(toy.NAME, {"units": n})[0].pk: n for n in (1, 2, 3, 6, 9)}
    with WorkerCluster(workers=2, env={"SAGA_DEFINITION_MODULES": "sagas.testing.toy"}) as cluster:
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
