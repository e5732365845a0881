"""Each style is one object that the services look up by the saga's style; outcomes are enums."""

import pytest

from sagas.choreography import delivery
from sagas.engine import runner
from sagas.engine.definition import SagaDefinition, Step, register
from sagas.engine.styles import Choreography, Orchestration, style_of
from sagas.models import SagaInstance, SagaStatus
from sagas.participant.outbox import new_event
from sagas.services import saga_start
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")

register(SagaDefinition("styles-demo", 1, (Step("only", lambda call: {"done": True}),)))


def test_saga_start_refuses_a_style_that_does_not_exist_and_writes_no_saga():
    with pytest.raises(ValueError, match="Style must be one of: orchestration, choreography"):
        saga_start("styles-demo", {}, style="conducted")
    assert not SagaInstance.objects.exists()


def test_each_saga_is_acted_on_by_the_object_of_its_style():
    saga, _ = saga_start("styles-demo", {})
    assert isinstance(style_of(saga), Orchestration)
    saga.style = "choreography"
    assert isinstance(style_of(saga), Choreography)


def test_a_worker_run_says_where_it_stopped_as_a_checkpoint_result():
    saga, _ = saga_start("styles-demo", {})
    result = runner.run_saga(str(saga.pk))
    assert result is runner.CheckpointResult.FINISHED
    assert runner.run_saga(str(saga.pk)) is runner.CheckpointResult.IDLE  # nothing left to claim
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED


def test_a_step_outcome_is_one_of_the_outcome_kinds():
    saga, _ = saga_start("styles-demo", {})
    claim = runner.claim_next_step(str(saga.pk), "worker-a")
    outcome = runner.execute_step(claim)
    assert outcome.kind is runner.OutcomeKind.SUCCEEDED
    status, _next = runner.checkpoint_and_claim(claim, outcome, keep_lease=False)
    assert status is runner.CheckpointResult.FINISHED
    drain()


def test_a_delivery_to_a_subscription_nobody_registered_says_so_as_a_delivery_result():
    event = new_event("nobody.listens", source="tests", saga_id="s", order_id="o", sequence=1, order={})
    assert delivery.deliver("no.such.subscription", event.as_dict()) is delivery.DeliveryResult.UNKNOWN_SUBSCRIPTION
