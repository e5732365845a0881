"""A deploy that changes a definition never breaks sagas already in flight."""

import pytest

from sagas.engine import runner
from sagas.engine.definition import SagaDefinition, Step, register
from sagas.models import SagaStatus
from sagas.services import saga_start
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")

CALLS: list[str] = []


def record(name):
    def step(call):
        CALLS.append(f"{name}:{call.saga_id[:8]}")
        return {"ran": name}

    return step


register(SagaDefinition("versioned-demo", 1, (Step("first", record("v1-first")), Step("second", record("v1-second")))))


def test_a_saga_started_on_version_one_finishes_on_version_one_after_version_two_is_deployed():
    CALLS.clear()
    old, _ = saga_start("versioned-demo", {})
    claim = runner.claim_next_step(str(old.pk), "worker-a")
    runner.checkpoint_and_claim(claim, runner.execute_step(claim), keep_lease=False)

    register(
        SagaDefinition("versioned-demo", 2, (Step("first", record("v2-first")), Step("other", record("v2-other"))))
    )
    new, _ = saga_start("versioned-demo", {})
    drain()

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, old.definition_version) == (SagaStatus.COMPLETED, 1)
    assert (new.status, new.definition_version) == (SagaStatus.COMPLETED, 2)
    assert [c for c in CALLS if c.endswith(str(old.pk)[:8])] == [
        f"v1-first:{str(old.pk)[:8]}",
        f"v1-second:{str(old.pk)[:8]}",
    ]
    assert list(old.steps.values_list("step_name", flat=True)) == ["first", "second"]
    assert list(new.steps.values_list("step_name", flat=True)) == ["first", "other"]


register(SagaDefinition("quick-demo", 1, (Step("only", record("quick")),), deadline_seconds=45))


def test_a_retried_saga_gets_the_deadline_of_its_own_definition_not_the_default():
    from datetime import timedelta

    from django.utils import timezone

    from sagas.models import SagaInstance
    from sagas.services import saga_retry

    saga, _ = saga_start("quick-demo", {})
    assert abs(saga.deadline_at - saga.created_at - timedelta(seconds=45)) < timedelta(seconds=1)
    SagaInstance.objects.filter(pk=saga.pk).update(status=SagaStatus.FAILED, deadline_at=timezone.now())
    before = timezone.now()
    retried = saga_retry(saga.pk, actor="olga", reason="try again")
    assert before + timedelta(seconds=44) <= retried.deadline_at <= timezone.now() + timedelta(seconds=45)
