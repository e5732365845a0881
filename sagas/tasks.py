"""django-q2 entry points: they take ids and hand them to the engine."""

from sagas import runner


def run_saga(saga_id: str) -> str:
    """Run a saga as far as its lease and the task budget allow."""
    return runner.run_saga(saga_id)


def recover_sagas() -> str:
    """The periodic recovery sweep."""
    from sagas.recovery import sweep

    report = sweep()
    return report.summary()
