"""Readings of the step log shared by the tests: the trail of calls, overlapping or unfinished attempts, stories.

They read only the engine's step log, so they hold for any saga: the toy booking in the
engine's tests, the order saga in its own.
"""

from collections import defaultdict
from collections.abc import Iterable
from itertools import pairwise

from sagas.models import Direction, SagaInstance, SagaStepLog, StepStatus


def step_trail(saga: SagaInstance) -> list[tuple[str, str, str]]:
    """(step, direction, status) of every participant call, in the order they were made."""
    return [
        (log.step_name, log.direction, log.status)
        for log in saga.steps.filter(direction__in=[Direction.FORWARD, Direction.COMPENSATION]).order_by(
            "started_at", "id"
        )
    ]


def overlapping_attempts(saga_ids: Iterable[str] | None = None) -> list[str]:
    """Participant calls of one saga that ran at the same time; [] when every call waited its turn.

    A call still marked RUNNING counts as running forever, so an attempt that never
    reported back overlaps whatever the saga did after it.
    """
    logs = SagaStepLog.objects.filter(direction__in=[Direction.FORWARD, Direction.COMPENSATION])
    if saga_ids is not None:
        logs = logs.filter(saga_id__in=list(saga_ids))
    by_saga: dict[str, list[SagaStepLog]] = defaultdict(list)
    for log in logs.order_by("saga_id", "started_at", "id"):
        by_saga[str(log.saga_id)].append(log)
    problems = []
    for saga_id, attempts in by_saga.items():
        for earlier, later in pairwise(attempts):
            if earlier.finished_at is None or later.started_at < earlier.finished_at:
                problems.append(
                    f"saga {saga_id}: {earlier.step_name} #{earlier.attempt} on {earlier.worker} "
                    f"({earlier.status}) overlaps {later.step_name} #{later.attempt} on {later.worker}"
                )
    return problems


def unfinished_attempts() -> list[SagaStepLog]:
    """Step-log rows still marked RUNNING."""
    return list(SagaStepLog.objects.filter(status=StepStatus.RUNNING))


def saga_stories(saga_ids: Iterable[str | None]) -> str:
    """The step log of each saga, one line per attempt, to explain a failed check."""
    lines = []
    for saga_id in sorted({s for s in saga_ids if s}):
        lines.append(f"saga {saga_id}:")
        for log in SagaStepLog.objects.filter(saga_id=saga_id).order_by("started_at", "id"):
            lines.append(
                f"  {log.started_at:%H:%M:%S.%f} {log.direction:<12} {log.step_name:<15} #{log.attempt} "
                f"{log.status:<10} {log.worker} {log.error_message or log.reason}"
            )
    return "\n".join(lines)
