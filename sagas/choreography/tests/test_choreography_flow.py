"""The choreography engine runs whatever flow an app registers, and imports no participant."""

import ast
from pathlib import Path

import pytest
from django.utils import timezone

from sagas.choreography import flow as registry
from sagas.choreography import monitor
from sagas.choreography.flow import ChoreographyFlow, Outbox, flow_named
from sagas.choreography.start import compensate_refusal, saga_events
from sagas.choreography.sweep import relay_pending
from sagas.models import SagaInstance, SagaStatus, SagaStyle, StepStatus
from sagas.participant.outbox import Event, new_event

ROOT = Path(__file__).resolve().parents[3]
PARTICIPANTS = {"orders", "payments", "inventory"}


def _toy_event(event_type: str, saga_id: str, saga_input: dict, sequence: int, data: dict | None) -> Event:
    return new_event(
        event_type, source="sagas", saga_id=saga_id, order_id=saga_id, sequence=sequence, order={}, data=data
    )


TOY = ChoreographyFlow(
    definition_name="toy",
    request_event="toy-requested",
    cancel_request_event="toy-cancel-requested",
    pivot_event="toy-shipped",
    past_pivot="The toy has shipped.",
    cancel_chain=("toy-cancel-requested",),
    refusals=frozenset({"toy-refused"}),
    status_for=lambda seen, failed=False: SagaStatus.COMPLETED if "toy-shipped" in seen else SagaStatus.RUNNING,
    step_status=lambda event_type: StepStatus.SUCCEEDED,
    compensations_planned=lambda: ["make_toy"],
    build_event=_toy_event,
)


@pytest.fixture
def toy_flow(monkeypatch):
    monkeypatch.setattr(registry, "_flows", {**registry._flows, "toy": TOY})
    return TOY


def _seen(*event_types: str) -> dict:
    now = timezone.now().isoformat()
    return {
        "events": {
            kind: {"id": kind, "sequence": number, "source": "toys", "occurred_at": now}
            for number, kind in enumerate(event_types, 1)
        }
    }


def test_a_saga_of_a_registered_flow_follows_that_flows_rules(toy_flow):
    saga = SagaInstance(definition_name="toy", style=SagaStyle.CHOREOGRAPHY, status=SagaStatus.RUNNING)
    assert monitor.view(saga, _seen("toy-requested"), timezone.now())["status"] == SagaStatus.RUNNING
    shipped = _seen("toy-requested", "toy-shipped")
    assert monitor.view(saga, shipped, timezone.now())["status"] == SagaStatus.COMPLETED
    saga.context = shipped
    assert compensate_refusal(saga) == "The toy has shipped."


def test_every_registered_outbox_is_relayed_and_read_for_resume(monkeypatch, toy_flow):
    event = _toy_event("toy-made", "6b1f1c3e-0000-4000-8000-000000000001", {}, 2, None)
    toys = Outbox("toys", relay=lambda **_: [event], pending=lambda _: [event], events=lambda _: [event], purge=None)
    monkeypatch.setattr(registry, "_outboxes", {"toys": toys})
    assert relay_pending(None, dry_run=True) == [("toys", event)]
    assert relay_pending(None) == [("toys", event)]
    saga = SagaInstance(definition_name="toy", style=SagaStyle.CHOREOGRAPHY, context={})
    assert saga_events(saga) == [event]


def test_an_unregistered_flow_is_named_in_the_error():
    with pytest.raises(LookupError, match="'no-such-saga'"):
        flow_named("no-such-saga")


@pytest.mark.parametrize(
    "module",
    [
        "sagas/choreography/flow.py",
        "sagas/choreography/start.py",
        "sagas/choreography/monitor.py",
        "sagas/choreography/sweep.py",
        "sagas/admin/participants.py",
        "sagas/testing/choreography.py",
        "sagas/bench/fill.py",
    ],
)
def test_the_engine_module_imports_no_participant(module):
    tree = ast.parse((ROOT / module).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.split(".")[0] in PARTICIPANTS}
