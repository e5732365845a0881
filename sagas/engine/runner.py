"""The crash-safe step protocol: claim, log, call, checkpoint.

1. Claim: one short transaction on `default` takes the lease (owner, expiry, a bumped
   `version` that fences out late commits), counts the attempt and writes the step log row.
   It commits before the participant is called, so a crash still leaves the attempt counted.
2. Call: the participant gets an idempotency key derived from saga, step and direction.
3. Checkpoint: one durable transaction records the outcome, moves the saga on, and either
   keeps the lease to run the next step at once or releases it and enqueues the saga (a
   delayed queue row for a backoff). The update is conditional on the claimed version:
   a worker whose lease was taken over commits nothing.

No row lock is held while a participant runs; the database, not the queue, decides what
runs, so a task delivered twice or to two workers at once runs each step once at a time.
This module decides what each write says; `sagas.engine.store` writes it (on PostgreSQL
each claim and checkpoint is one statement, its own transaction).
"""

import logging
import os
import time
import traceback as traceback_module
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.utils import timezone

from sagas.engine import lifecycle, store, transitions
from sagas.engine import notes as engine_notes
from sagas.engine.connections import reset_service_connections
from sagas.engine.definition import SagaDefinition, Step, StepCall, get_definition
from sagas.engine.queue import new_worker_id
from sagas.engine.store import SagaWrite
from sagas.engine.styles import style_of
from sagas.engine.timeouts import StepTimeout, call_with_timeout
from sagas.engine.transitions import Position
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.ops.logging import saga_log_context
from sagas.participant.refusals import BusinessRefusal

logger = logging.getLogger("sagas.runner")

# A timeout alarm that is handled this much later than it fell due was not late by the step's
# doing: the alarm interrupts Python code and database waits at once, so the process itself
# was not running (frozen by SIGSTOP, a paused container or VM, or starved of CPU).
HELD_TOLERANCE_SECONDS = 2.0


class WorkerHeld(StepTimeout):
    """The step's process was not running when its timeout fell due: its outcome is unknown."""


def step_key(saga_id: str, step_name: str, direction: str) -> str:
    """The idempotency key a participant sees for one step in one direction."""
    suffix = "compensate" if direction == Direction.COMPENSATION else "action"
    return f"saga:{saga_id}:{step_name}:{suffix}"


@dataclass
class Claim:
    saga_id: str
    owner: str
    version: int
    definition: SagaDefinition
    position: Position
    context: dict[str, Any]
    log_id: int
    deadline_at: Any = None
    lease_expires_at: Any = None

    @property
    def step(self) -> Step:
        return self.definition.step(self.position.step_index)

    @property
    def compensating(self) -> bool:
        return self.position.direction == Direction.COMPENSATION


class OutcomeKind(StrEnum):
    """How a participant's call for one step ended."""

    SUCCEEDED = "succeeded"
    REFUSED = "refused"  # a business refusal: no retry can change it
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class CheckpointResult(StrEnum):
    """Where a worker's run of a saga stopped: the result of run_saga that django-q2 keeps with the task."""

    IDLE = "idle"  # nothing to claim: another worker holds it, it is paused, finished or waiting
    FINISHED = "finished"  # the saga reached COMPLETED, COMPENSATED or FAILED
    FENCED = "fenced"  # the lease was lost before the checkpoint; the answer is not used
    CONTINUE = "continue"  # this worker keeps the lease and goes on with the next step
    QUEUED = "queued"  # the next step is queued (a backoff, or the task's budget ran out)


@dataclass
class StepOutcome:
    kind: OutcomeKind
    result: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    traceback: str = ""


_LOG_STATUS = {
    OutcomeKind.SUCCEEDED: StepStatus.SUCCEEDED,
    OutcomeKind.REFUSED: StepStatus.REFUSED,
    OutcomeKind.FAILED: StepStatus.FAILED,
    OutcomeKind.TIMED_OUT: StepStatus.TIMED_OUT,
}


def _lease_until(now: Any, step: Step) -> Any:
    return now + timedelta(seconds=step.timeout_seconds + settings.SAGA_LEASE_MARGIN_SECONDS)


def _policy(definition: SagaDefinition, position: Position) -> Any:
    step = definition.step(position.step_index)
    return step.compensation_retry if position.direction == Direction.COMPENSATION else step.retry


def _system_note(saga_id: str, position: Position, definition: SagaDefinition, text: str, now: Any) -> SagaStepLog:
    index = position.step_index
    name = definition.step(index).name if 0 <= index < len(definition.steps) else ""
    return SagaStepLog(
        saga_id=saga_id,
        step_name=name,
        step_index=index,
        direction=Direction.SYSTEM,
        attempt=position.attempt,
        status=StepStatus.RECORDED,
        started_at=now,
        finished_at=now,
        actor="engine",
        reason=text,
    )


def _attempt_row(
    saga_id: str, index: int, direction: str, attempt: int, step: Step, owner: str, now: Any
) -> SagaStepLog:
    """The log row of an attempt a claim opens, RUNNING until its checkpoint."""
    return SagaStepLog(
        saga_id=saga_id,
        step_name=step.name,
        step_index=index,
        direction=direction,
        attempt=attempt,
        status=StepStatus.RUNNING,
        idempotency_key=step_key(saga_id, step.name, direction),
        started_at=now,
        worker=owner,
    )


def _step_name(definition: SagaDefinition, index: int) -> str:
    return definition.step(index).name if 0 <= index < len(definition.steps) else ""


# During a rolling deploy a web process on new code may start a saga on a definition version
# that a worker still on old code does not have. That worker hands the saga back this long
# later, for a worker that has the version; the saga is neither failed nor lost.
UNKNOWN_VERSION_RETRY_SECONDS = 30
# The start of the last error such a hand-back leaves, until a worker with the version runs it.
UNKNOWN_VERSION_NOTE = "Waiting for a worker that has saga definition"


def _hand_back_unknown_version(saga: SagaInstance, owner: str, now: Any) -> None:
    """Say in the saga's log and last error that this worker lacks its definition version, and requeue it.

    Called inside the claim's transaction. A repeat (redelivered to an old worker again) only
    requeues: the step log gets one note per wait, not one per try.
    """
    text = (
        f"{UNKNOWN_VERSION_NOTE} {saga.definition_name} v{saga.definition_version}: worker {owner} "
        f"does not have it (deploy workers before web). Handed back, tried again in "
        f"{UNKNOWN_VERSION_RETRY_SECONDS} s."
    )
    logger.warning("saga %s: %s", saga.pk, text)
    if saga.last_error.startswith(UNKNOWN_VERSION_NOTE):
        store.enqueue(str(saga.pk), UNKNOWN_VERSION_RETRY_SECONDS)
        return
    note = SagaStepLog(
        saga_id=saga.pk,
        step_name=saga.current_step,
        step_index=saga.step_index,
        direction=Direction.SYSTEM,
        attempt=saga.attempt,
        status=StepStatus.RECORDED,
        started_at=now,
        finished_at=now,
        actor="engine",
        action="definition_version_unknown",
        reason=text,
    )
    # Not moved: someone else moved the saga meanwhile, and whoever did enqueued it.
    store.apply(
        SagaWrite(
            str(saga.pk),
            saga.version,
            {"last_error": text},
            now,
            notes=[note],
            enqueue_delay=UNKNOWN_VERSION_RETRY_SECONDS,
        )
    )


def claim_next_step(saga_id: str, owner: str) -> Claim | None:
    """Take the lease on the saga and log the attempt it is about to make, or return None.

    None means there is nothing for this worker to do: the saga is finished, paused,
    leased by another worker, waiting for its backoff, or was claimed by someone faster.
    Moves that need no participant call (deadline passed, attempts used up by crashes,
    nothing left to compensate) are made here too.
    """
    with store.writing():
        saga = store.read_saga(saga_id)
        # Read the clock after the row: a step logged as started then never precedes the
        # finish of the step before it, whichever worker ran that one.
        now = timezone.now()
        # A choreographed saga has no driver: its services move it through events.
        if saga is None or saga.is_terminal or saga.paused or not style_of(saga).runs_steps:
            return None
        if saga.lease_expires_at and saga.lease_expires_at > now and saga.lease_owner != owner:
            return None
        if saga.next_run_at and saga.next_run_at > now + timedelta(milliseconds=200):
            return None
        try:
            definition = get_definition(saga.definition_name, saga.definition_version)
        except LookupError:
            _hand_back_unknown_version(saga, owner, now)
            return None
        status = SagaStatus.RUNNING if saga.status == SagaStatus.PENDING else saga.status
        position = Position(status, saga.direction, saga.step_index, saga.attempt)
        notes: list[SagaStepLog] = []
        # A worker that has the version is here: the note about waiting for one no longer holds.
        last_error = "" if saga.last_error.startswith(UNKNOWN_VERSION_NOTE) else saga.last_error
        context = saga.context
        turned: dict[str, Any] = {}  # the context, only when this claim turns the saga to compensate
        if (
            position.direction == Direction.FORWARD
            and saga.deadline_at is not None
            and now > saga.deadline_at
            and position.step_index <= definition.pivot_index
            and not transitions.pivot_outcome_unknown(definition, position)
        ):
            position = transitions.compensation_start_for(definition, position)
            deadline = {"time": f"{saga.deadline_at:%Y-%m-%d %H:%M:%S}"}
            last_error = engine_notes.DEADLINE_PASSED % deadline
            context = transitions.with_compensation_cause(context, last_error)
            turned["context"] = context
            notes.append(
                _system_note(saga_id, position, definition, engine_notes.DEADLINE_PASSED_COMPENSATING % deadline, now)
            )
        elif not position.terminal and position.attempt >= _policy(definition, position).max_attempts:
            exhausted_at = position
            position = transitions.exhausted(definition, position)
            text = engine_notes.NEVER_REPORTED % {
                "attempt": exhausted_at.attempt,
                "step": _step_name(definition, exhausted_at.step_index),
            }
            last_error = text
            if exhausted_at.direction == Direction.FORWARD and position.direction == Direction.COMPENSATION:
                context = transitions.with_compensation_cause(context, text)
                turned["context"] = context
            notes.append(_system_note(saga_id, exhausted_at, definition, text, now))
        if position.terminal:
            finished = store.apply(
                SagaWrite(
                    saga_id,
                    saga.version,
                    {
                        "status": position.status,
                        "direction": position.direction,
                        "step_index": position.step_index,
                        "current_step": _step_name(definition, position.step_index),
                        "attempt": position.attempt,
                        "lease_owner": "",
                        "lease_expires_at": None,
                        "next_run_at": None,
                        "finished_at": now,
                        "last_error": last_error,
                        **turned,
                    },
                    now,
                    abandon_lost_of=owner,
                    notes=notes,
                )
            )
            if finished.moved:
                _log_finished(saga_id, position.status, last_error)
            return None
        step = definition.step(position.step_index)
        attempt = position.attempt + 1
        lease_expires_at = _lease_until(now, step)
        claimed = store.apply(
            SagaWrite(
                saga_id,
                saga.version,
                {
                    "status": position.status,
                    "direction": position.direction,
                    "step_index": position.step_index,
                    "current_step": step.name,
                    "attempt": attempt,
                    "lease_owner": owner,
                    "lease_expires_at": lease_expires_at,
                    "next_run_at": None,
                    "last_error": last_error,
                    **turned,
                },
                now,
                # A PENDING saga was never claimed: it has no attempts to close.
                abandon_lost_of=owner if saga.status != SagaStatus.PENDING else None,
                notes=notes,
                attempt=_attempt_row(saga_id, position.step_index, position.direction, attempt, step, owner, now),
            )
        )
        if not claimed.moved:
            return None
    return Claim(
        saga_id=str(saga_id),
        owner=owner,
        version=saga.version + 1,
        definition=definition,
        position=Position(position.status, position.direction, position.step_index, attempt),
        context=context,
        log_id=claimed.attempt_id,
        deadline_at=saga.deadline_at,
        lease_expires_at=lease_expires_at,
    )


def execute_step(claim: Claim) -> StepOutcome:
    """Call the participant for the claimed step, bounded by the step's timeout."""
    step = claim.step
    function = step.compensation if claim.compensating else step.action
    assert function is not None, f"step {step.name} has nothing to run in this direction"
    call = StepCall(
        saga_id=claim.saga_id,
        step_name=step.name,
        input=claim.context.get("input", {}),
        results=claim.context.get("results", {}),
        key=step_key(claim.saga_id, step.name, claim.position.direction),
        action_key=step_key(claim.saga_id, step.name, Direction.FORWARD),
        reason=claim.context.get("compensation_reason", ""),
    )
    with saga_log_context(claim.saga_id, step.name, claim.position.attempt):
        started = time.monotonic()
        try:
            result = call_with_timeout(lambda: function(call), step.timeout_seconds)
            return StepOutcome(OutcomeKind.SUCCEEDED, result=result or {})
        except BusinessRefusal as refusal:
            logger.info("step refused: %s", refusal.message)
            return StepOutcome(OutcomeKind.REFUSED, result=refusal.as_dict(), error=refusal)
        except StepTimeout as timeout:
            error: StepTimeout = timeout
            overdue = time.monotonic() - started - step.timeout_seconds
            if overdue > HELD_TOLERANCE_SECONDS:
                error = _held_error(claim, step.timeout_seconds, overdue)
                logger.warning("worker held: %s", error)
            else:
                logger.warning("step timed out: %s", timeout)
            reset_service_connections(force=True)
            return StepOutcome(OutcomeKind.TIMED_OUT, error=error, traceback=traceback_module.format_exc())
        except Exception as error:
            logger.warning("step failed: %s: %s", type(error).__name__, error)
            reset_service_connections(force=False)
            return StepOutcome(OutcomeKind.FAILED, error=error, traceback=traceback_module.format_exc())


def _held_error(claim: Claim, timeout_seconds: float, overdue: float) -> WorkerHeld:
    """What happened to a step whose timeout alarm was handled `overdue` seconds late."""
    lease = ""
    if claim.lease_expires_at is not None:
        past = (timezone.now() - claim.lease_expires_at).total_seconds()
        if past > 0:
            lease = f", {past:.0f}s past its lease"
    return WorkerHeld(
        f"worker process {os.getpid()} running saga {claim.saga_id} was frozen or held (not running, "
        f"e.g. stopped by SIGSTOP): its {timeout_seconds:g}s timeout fell due {overdue:.0f}s before it ran "
        f"again{lease}; the step's outcome is unknown"
    )


def _fenced_message(claim: Claim, outcome: StepOutcome, error_text: str, arrived: Any) -> str:
    """What the step log says of an answer that came after another worker took the saga over."""
    late = (arrived - claim.lease_expires_at).total_seconds() if claim.lease_expires_at is not None else 0.0
    if isinstance(outcome.error, WorkerHeld) or late > HELD_TOLERANCE_SECONDS:
        held = {"pid": os.getpid(), "saga": claim.saga_id, "kind": outcome.kind, "late": f"{late:.0f}"}
        return f"{engine_notes.HELD_PAST_LEASE % held} {error_text}".strip()
    return f"{engine_notes.LEASE_LOST % {'kind': outcome.kind}} {error_text}".strip()


def _next_position(claim: Claim, outcome: StepOutcome) -> Position:
    definition, position = claim.definition, claim.position
    if outcome.kind == OutcomeKind.SUCCEEDED:
        return transitions.after_success(definition, position)
    if outcome.kind == OutcomeKind.REFUSED:
        return transitions.after_refusal(definition, position)
    policy = _policy(definition, position)
    assert outcome.error is not None
    return transitions.after_error(definition, position, policy.retries(outcome.error), policy.delay(position.attempt))


def _chain_allowed(claim: Claim, new: Position, now: Any) -> bool:
    """Whether the next step can be claimed inside this checkpoint without rereading the saga.

    Only a fresh forward or compensating step qualifies; a passed deadline goes through the
    full claim, which decides what the deadline means for the saga.
    """
    if new.terminal or new.delay_seconds > 0 or new.attempt != 0:
        return False
    return new.direction != Direction.FORWARD or claim.deadline_at is None or now <= claim.deadline_at


def checkpoint_and_claim(claim: Claim, outcome: StepOutcome, keep_lease: bool) -> tuple[CheckpointResult, Claim | None]:
    """Checkpoint the step and, when this worker keeps the lease, claim the next step too.

    Claiming in the checkpoint's transaction saves a round of reads and a commit per step
    and keeps every guarantee of a separate claim: the attempt and its log row commit before
    the participant is called, under a lease fenced by the version.
    """
    new = _next_position(claim, outcome)
    with store.writing(durable=True):
        # The clock is read once the transaction is open: a process frozen before it does not
        # date its answer to before the freeze.
        status, next_claim, error_text = _checkpoint_in_transaction(claim, outcome, new, keep_lease, timezone.now())
    if status == CheckpointResult.FINISHED:
        _log_finished(claim.saga_id, new.status, error_text)
    return status, next_claim


def _checkpoint_in_transaction(
    claim: Claim, outcome: StepOutcome, new: Position, keep_lease: bool, now: Any
) -> tuple[CheckpointResult, Claim | None, str]:
    """checkpoint_and_claim's writes, in its transaction; also the error text the outcome logged."""
    definition = claim.definition
    context = claim.context
    error_text = ""
    if outcome.kind == OutcomeKind.SUCCEEDED and not claim.compensating:
        context = {**context, "results": {**context.get("results", {}), claim.step.name: outcome.result}}
    if outcome.error is not None:
        message = outcome.error.message if isinstance(outcome.error, BusinessRefusal) else str(outcome.error)
        error_text = f"{claim.step.name}: {type(outcome.error).__name__}: {message}"
        if not claim.compensating and new.direction == Direction.COMPENSATION:
            context = transitions.with_compensation_cause(context, error_text)
    continue_inline = keep_lease and not new.terminal and new.delay_seconds <= 0
    chained = continue_inline and _chain_allowed(claim, new, now)
    fields: dict[str, Any] = {
        "status": new.status,
        "direction": new.direction,
        "step_index": new.step_index,
        "current_step": _step_name(definition, new.step_index),
        "attempt": new.attempt,
        "context": context,
        "next_run_at": None,
        "lease_owner": "",
        "lease_expires_at": None,
    }
    last_error = transitions.last_error_after(new.status, error_text, context)
    if last_error is not None:
        fields["last_error"] = last_error
    if new.terminal:
        fields["finished_at"] = now
    elif continue_inline:
        fields["lease_owner"] = claim.owner
        fields["lease_expires_at"] = _lease_until(now, definition.step(new.step_index))
        if chained:
            fields["attempt"] = 1
    elif new.delay_seconds > 0:
        fields["next_run_at"] = now + timedelta(seconds=new.delay_seconds)
    log_fields = {
        "status": _LOG_STATUS[outcome.kind],
        "finished_at": now,
        "result": outcome.result,
        "error_type": type(outcome.error).__name__ if outcome.error is not None else "",
        "error_message": error_text,
        "traceback": outcome.traceback,
    }
    opened = None
    if chained:
        step = definition.step(new.step_index)
        opened = _attempt_row(claim.saga_id, new.step_index, new.direction, 1, step, claim.owner, now)
    written = store.apply(
        SagaWrite(
            claim.saga_id,
            claim.version,
            fields,
            now,
            finish_attempt=(claim.log_id, log_fields),
            attempt=opened,
            enqueue_delay=new.delay_seconds if not new.terminal and not continue_inline else None,
        )
    )
    if not written.moved:
        # The answer arrives now, when the fence turns it away: a freeze may lie since `now`.
        arrived = timezone.now()
        log_fields["finished_at"] = arrived
        log_fields["status"] = StepStatus.ABANDONED
        log_fields["error_message"] = _fenced_message(claim, outcome, error_text, arrived)
        # An operator who cut the attempt short said so on the row: keep that, add the answer.
        cut_short = SagaStepLog.objects.filter(pk=claim.log_id).exclude(actor="").values("error_message").first()
        if cut_short:
            log_fields["error_message"] = (
                f"{cut_short['error_message']} Its worker answered afterwards: {outcome.kind}. {error_text}"
            ).strip()
        store.record_late_answer(claim.log_id, log_fields)
        logger.warning("saga %s: lease lost, checkpoint of worker process %s dropped", claim.saga_id, os.getpid())
        return CheckpointResult.FENCED, None, error_text
    next_claim = None
    if chained:
        next_claim = Claim(
            saga_id=claim.saga_id,
            owner=claim.owner,
            version=claim.version + 1,
            definition=definition,
            position=Position(new.status, new.direction, new.step_index, 1),
            context=context,
            log_id=written.attempt_id,
            deadline_at=claim.deadline_at,
            lease_expires_at=fields["lease_expires_at"],
        )
    if new.terminal:
        return CheckpointResult.FINISHED, None, error_text
    return (CheckpointResult.CONTINUE if continue_inline else CheckpointResult.QUEUED), next_claim, error_text


def _log_finished(saga_id: str, status: str, error: str) -> None:
    with saga_log_context(saga_id):
        if status == SagaStatus.FAILED:
            logger.error("saga failed and needs an operator: %s", error)
        else:
            logger.info("saga %s", status.lower())


def run_saga(saga_id: str, owner: str | None = None) -> str:
    """Run the saga's steps while this worker holds its lease and the task budget lasts.

    Safe to call any number of times, from any number of workers at once.
    """
    if lifecycle.cluster_stopping():
        return lifecycle.hand_back(str(saga_id))  # taken from memory after a SIGTERM: leave it to the next worker
    owner = owner or new_worker_id()
    budget = settings.SAGA_TASK_BUDGET_SECONDS
    started = time.monotonic()
    status = CheckpointResult.IDLE
    claim = claim_next_step(str(saga_id), owner)
    while claim is not None:
        outcome = execute_step(claim)
        keep_lease = time.monotonic() - started < budget and not lifecycle.cluster_stopping()
        status, chained = checkpoint_and_claim(claim, outcome, keep_lease=keep_lease)
        if status != CheckpointResult.CONTINUE:
            return status
        claim = chained or claim_next_step(str(saga_id), owner)
    return status
