"""What the engine needs to know about a choreographed flow, registered by the app that owns it.

The engine drives no choreographed saga: the services react to each other's events. It only
watches them, asks for a cancel and relays what a crash left behind. A `ChoreographyFlow`
holds the business side of that: which events start and cancel the flow, where its pivot
is, what the set of events seen means for the saga's status, and what a cancel undoes. The
app that owns the business process builds it and registers it from its AppConfig.ready(),
the way it registers its saga definition; each participant registers its own outbox with
`register_outbox`.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sagas.models import SagaInstance
from sagas.participant.outbox import Event


@dataclass(frozen=True)
class ChoreographyFlow:
    """The business side of one choreographed saga definition, as the monitor, start and sweep read it."""

    # The saga definition (by name) the flow's saga rows carry.
    definition_name: str
    # The event that opens the flow, and the one an operator or the deadline publishes to cancel it.
    request_event: str
    cancel_request_event: str
    # Once this event is seen the saga is past its pivot: nothing can be compensated any more.
    pivot_event: str
    # Why a saga past its pivot cannot be compensated, in the business's words.
    past_pivot: str
    # The events a cancel request sets off, in causal order (for the words of the compensation plan).
    cancel_chain: tuple[str, ...]
    # Events that are a service's business refusal: their message becomes the saga's error.
    refusals: frozenset[str]
    # The saga status that a set of seen event types means (`failed`: a service gave up).
    status_for: Callable[[Collection[str], bool], str]
    # How an event shows in the step log (a StepStatus).
    step_status: Callable[[str], str]
    # What a cancel makes the services undo, named like the orchestrated steps.
    compensations_planned: Callable[[], list[str]]
    # The request event for a new saga: (event type, saga id, saga input, sequence, data) -> Event.
    build_event: Callable[[str, str, dict[str, Any], int, dict[str, Any] | None], Event]


@dataclass(frozen=True)
class Outbox:
    """One participant's outbox: how to relay, list, read and purge its events."""

    service: str
    # Queue what no relay handed over yet (older_than_seconds=...); returns the events queued.
    relay: Callable[..., list[Event]]
    # The events no relay handed over yet, older than the given seconds (None: all); reads only.
    pending: Callable[[float | None], list[Event]]
    # Every event the service published for a saga id.
    events: Callable[[Any], list[Event]]
    # Delete delivered events and inbox rows (before=..., keep_saga_ids=...); returns both counts.
    purge: Callable[..., tuple[int, int]]


_flows: dict[str, ChoreographyFlow] = {}
_outboxes: dict[str, Outbox] = {}


def register_flow(flow: ChoreographyFlow) -> ChoreographyFlow:
    """Make a choreographed flow known to the engine (call from the owning app's ready())."""
    _flows[flow.definition_name] = flow
    return flow


def flow_named(definition_name: str | None = None) -> ChoreographyFlow:
    """The flow of a saga definition; without a name, the one flow registered.

    Raises LookupError when no such flow is registered (or, without a name, when several are).
    """
    if definition_name is None:
        if len(_flows) != 1:
            raise LookupError(f"Name the choreographed flow: {len(_flows)} are registered ({', '.join(_flows)}).")
        return next(iter(_flows.values()))
    try:
        return _flows[definition_name]
    except KeyError:
        raise LookupError(f"No choreographed flow is registered for the saga definition {definition_name!r}.") from None


def flow_for(saga: SagaInstance) -> ChoreographyFlow:
    """The flow a choreographed saga follows."""
    return flow_named(saga.definition_name)


def register_outbox(outbox: Outbox) -> Outbox:
    """Make a participant's outbox known to the relay, the purge and resume (call from its app's ready())."""
    _outboxes[outbox.service] = outbox
    return outbox


def outboxes() -> list[Outbox]:
    """Every registered outbox, in registration order."""
    return list(_outboxes.values())
