"""The saga monitor subscribes to every event, so each choreographed saga shows its events."""

from sagaproject.eventbus import subscribe
from sagas.choreography.monitor import MONITOR

subscribe(MONITOR)
