"""Where a saga goes next: pure functions of its definition, position and step outcome.

Kept free of the database so every path of the state machine can be checked on its own.
"""

from dataclasses import dataclass
from typing import Any

from sagas.engine.definition import SagaDefinition
from sagas.models import Direction, SagaStatus


@dataclass(frozen=True)
class Position:
    status: str
    direction: str
    step_index: int
    attempt: int = 0
    delay_seconds: float = 0.0

    @property
    def terminal(self) -> bool:
        return self.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED)


def start_compensation(definition: SagaDefinition, from_index: int) -> Position:
    """Compensate from `from_index` backwards, skipping steps with nothing to undo."""
    index = min(from_index, len(definition.steps) - 1)
    while index >= 0 and definition.step(index).compensation is None:
        index -= 1
    if index < 0:
        return Position(SagaStatus.COMPENSATED, Direction.COMPENSATION, -1)
    return Position(SagaStatus.COMPENSATING, Direction.COMPENSATION, index)


def _failed(position: Position) -> Position:
    return Position(SagaStatus.FAILED, position.direction, position.step_index, position.attempt)


def after_success(definition: SagaDefinition, position: Position) -> Position:
    if position.direction == Direction.COMPENSATION:
        return start_compensation(definition, position.step_index - 1)
    following = position.step_index + 1
    if following >= len(definition.steps):
        return Position(SagaStatus.COMPLETED, Direction.FORWARD, position.step_index)
    return Position(SagaStatus.RUNNING, Direction.FORWARD, following)


def after_refusal(definition: SagaDefinition, position: Position) -> Position:
    """A business refusal: compensate what came before, or stop if nothing can be undone."""
    if position.direction == Direction.COMPENSATION:
        # A compensation must not refuse; only a person can sort this out.
        return _failed(position)
    if position.step_index > definition.pivot_index:
        return _failed(position)
    if position.attempt <= 1:
        # The refusing step had no effect: only the steps before it are undone.
        return start_compensation(definition, position.step_index - 1)
    # An earlier attempt's answer was lost: it may have taken effect before this one was
    # refused, so the step's own compensation runs too (a no-op if nothing happened).
    # A pivot cannot be undone: a person decides.
    earlier = Position(position.status, position.direction, position.step_index, position.attempt - 1)
    if pivot_outcome_unknown(definition, earlier):
        return _failed(position)
    return start_compensation(definition, position.step_index)


def after_error(definition: SagaDefinition, position: Position, retryable: bool, delay: float) -> Position:
    """A transient error: retry by the step's policy, then compensate or stop as FAILED."""
    step = definition.step(position.step_index)
    compensating = position.direction == Direction.COMPENSATION
    policy = step.compensation_retry if compensating else step.retry
    if retryable and position.attempt < policy.max_attempts:
        return Position(position.status, position.direction, position.step_index, position.attempt, delay)
    return exhausted(definition, position)


def pivot_outcome_unknown(definition: SagaDefinition, position: Position) -> bool:
    """The pivot was tried and may have taken effect, and nothing can undo it.

    Compensating then would undo the steps before a pivot that perhaps happened (an
    approved order refunded and its stock released), so the saga must not compensate:
    the pivot is retried by its policy, then a person decides.
    """
    return (
        position.direction == Direction.FORWARD
        and position.step_index == definition.pivot_index
        and position.attempt > 0
        and definition.step(position.step_index).compensation is None
    )


def exhausted(definition: SagaDefinition, position: Position) -> Position:
    """The step's attempts are used up (by errors or by crashes that never reported)."""
    if position.direction == Direction.COMPENSATION:
        return _failed(position)
    step = definition.step(position.step_index)
    if step.retry.on_exhausted == "fail" or position.step_index > definition.pivot_index:
        return _failed(position)
    if pivot_outcome_unknown(definition, position):
        return _failed(position)
    # The step's outcome is unknown, so its own compensation runs too.
    return start_compensation(definition, position.step_index)


def compensation_start_for(definition: SagaDefinition, position: Position) -> Position:
    """Where an operator's or a deadline's "compensate now" begins."""
    if position.direction == Direction.COMPENSATION:
        return start_compensation(definition, position.step_index)
    attempted = position.attempt > 0 or position.status == SagaStatus.FAILED
    return start_compensation(definition, position.step_index if attempted else position.step_index - 1)


# The context key that keeps why a saga began to compensate, for its last error once it is done.
COMPENSATION_CAUSE = "compensation_cause"


def with_compensation_cause(context: dict[str, Any], cause: str) -> dict[str, Any]:
    """The saga context noting `cause` as the reason its compensation began."""
    return {**context, COMPENSATION_CAUSE: cause}


def last_error_after(status: str, error: str, context: dict[str, Any]) -> str | None:
    """What the saga's last error says after a move that met `error` ("" for none); None keeps it.

    A finished saga's last error says why it finished as it did: nothing once it completed,
    the cause of its compensation once it is compensated (not the errors its compensations
    met and got past, before or after an operator's retry), the error that stopped it when it
    failed. The step log keeps every error on the way.
    """
    if status == SagaStatus.COMPLETED:
        return ""
    if status == SagaStatus.COMPENSATED and context.get(COMPENSATION_CAUSE):
        return str(context[COMPENSATION_CAUSE])
    return error or None
