"""django-q2 entry points: they take ids and hand them to the engine."""

from sagas.engine import runner
from sagas.logging import saga_log_context


def run_saga(saga_id: str) -> str:
    """Run a saga as far as its lease and the task budget allow."""
    # Every line logged by this run (claim, checkpoint, participants) names the saga.
    with saga_log_context(saga_id):
        return runner.run_saga(saga_id)


def recover_sagas() -> str:
    """The periodic recovery sweep, and the purge of expired Idempotency-Key answers."""
    from sagas.engine.recovery import sweep
    from sagas.engine.retention import purge_expired_idempotency_keys

    report = sweep()
    purged = purge_expired_idempotency_keys()
    return report.summary() + (f"; {purged} expired Idempotency-Key answer(s) purged" if purged else "")
