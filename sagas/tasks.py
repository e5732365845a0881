"""django-q2 entry points: they take ids and hand them to the engine.

django-q2 stores each task's dotted path in its queue and schedule rows, and pickles what the
task returns into its result rows: so these paths never move, and they return plain text, never
an engine type that a later release might rename.
"""

from typing import Any

from sagas.choreography import delivery
from sagas.choreography import sweep as choreography_sweeper
from sagas.engine import runner
from sagas.ops.logging import saga_log_context


def run_saga(saga_id: str) -> str:
    """Run a saga as far as its lease and the task budget allow."""
    # Every line logged by this run (claim, checkpoint, participants) names the saga.
    with saga_log_context(saga_id):
        return str(runner.run_saga(saga_id))


def recover_sagas() -> str:
    """The periodic recovery sweep, and the purge of expired Idempotency-Key answers."""
    from sagas.engine.recovery import sweep
    from sagas.engine.retention import purge_expired_idempotency_keys

    report = sweep()
    purged = purge_expired_idempotency_keys()
    return report.summary() + (f"; {purged} expired Idempotency-Key answer(s) purged" if purged else "")


def deliver_event(payload: dict[str, Any], skip: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """Hand one event to each of its subscribers in turn (queued by the event bus)."""
    return {name: str(result) for name, result in delivery.deliver_event(payload, skip).items()}


def deliver(name: str, payload: dict[str, Any], attempt: int = 1) -> str:
    """Run one subscription on an event again (queued when its first delivery failed)."""
    return str(delivery.deliver(name, payload, attempt))


def choreography_sweep() -> str:
    """The choreography sweep, scheduled every minute: relay, purge, cancel and re-deliver."""
    return choreography_sweeper.sweep().summary()
