"""The saga monitor subscribes to every event, so each choreographed saga shows its events."""

from sagas.choreography.monitor import MONITOR
from sagas.participant.eventbus import subscribe

subscribe(MONITOR)
