"""A rolling deploy: a worker on old code meets a saga of a definition version it does not have."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from sagas import tasks
from sagas.engine import definition, runner
from sagas.engine.definition import SagaDefinition, Step, register
from sagas.models import Direction, SagaStatus
from sagas.ops.metrics import render_metrics
from sagas.services import saga_start
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


def _ran(call):
    return {"ran": True}


register(SagaDefinition("deploy-demo", 1, (Step("only", _ran),)))
NEW_VERSION = SagaDefinition("deploy-demo", 2, (Step("only", _ran), Step("added", _ran)))


@pytest.fixture
def started_by_new_web():
    """A saga a web process on new code started on version 2, which this worker process lacks."""
    register(NEW_VERSION)
    saga, _ = saga_start("deploy-demo", {})
    del definition._registry[("deploy-demo", 2)]  # this process is now the old worker
    OrmQ.objects.all().delete()  # the start's queue row: run it by hand below
    yield saga
    definition._registry.pop(("deploy-demo", 2), None)


def _queued_for(saga) -> list[OrmQ]:
    return [row for row in OrmQ.objects.all() if SignedPackage.loads(row.payload)["args"] == (str(saga.pk),)]


def _metric(name: str) -> float:
    for line in render_metrics().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_an_old_worker_says_so_hands_the_saga_back_and_the_metric_counts_it(started_by_new_web):
    saga = started_by_new_web
    assert _metric("saga_definition_version_unknown") == 0

    before = timezone.now()
    tasks.run_saga(str(saga.pk))  # the real task entry point, on a worker without version 2

    saga.refresh_from_db()
    assert saga.status == SagaStatus.PENDING  # not failed, not lost
    assert "deploy-demo v2" in saga.last_error and "handed back" in saga.last_error.lower()
    (note,) = saga.steps.filter(direction=Direction.SYSTEM)
    assert "deploy-demo v2" in note.reason
    (row,) = _queued_for(saga)  # handed back, for a later try
    assert row.lock >= before + timedelta(seconds=runner.UNKNOWN_VERSION_RETRY_SECONDS - 1)
    assert _metric("saga_definition_version_unknown") == 1

    tasks.run_saga(str(saga.pk))  # redelivered to an old worker again: one more queue row, no second note
    assert saga.steps.filter(direction=Direction.SYSTEM).count() == 1
    assert len(_queued_for(saga)) == 2


def test_a_worker_with_the_version_then_runs_the_saga_and_the_note_is_cleared(started_by_new_web):
    saga = started_by_new_web
    tasks.run_saga(str(saga.pk))
    register(NEW_VERSION)  # a worker on new code takes the handed-back task
    drain()
    saga.refresh_from_db()
    assert (saga.status, saga.last_error) == (SagaStatus.COMPLETED, "")
    assert list(saga.steps.exclude(direction=Direction.SYSTEM).values_list("step_name", flat=True)) == [
        "only",
        "added",
    ]
    assert _metric("saga_definition_version_unknown") == 0
