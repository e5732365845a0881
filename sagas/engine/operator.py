"""What every operator action writes: a version-fenced change of the saga row and its audit row.

Both styles and the services use these, so an action reads the same in the step log
whichever style the saga has.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from sagas.engine import store, transitions
from sagas.engine.definition import SagaDefinition
from sagas.errors import ActionNotAllowed
from sagas.models import Direction, SagaInstance, SagaStepLog, StepStatus


def fresh_deadline(definition: SagaDefinition, now: datetime | None = None) -> datetime:
    """When a saga started, or set going again by an operator, must be done: its definition says, else the setting."""
    seconds = definition.deadline_seconds or settings.SAGA_DEADLINE_SECONDS
    return (now or timezone.now()) + timedelta(seconds=seconds)


def audit(saga: SagaInstance, action: str, actor: str, reason: str, details: dict[str, Any] | None = None) -> None:
    """Write the audit row of an operator's action (who, when, why) into the saga's step log."""
    now = timezone.now()
    store.append_log(
        SagaStepLog(
            saga=saga,
            step_name=saga.current_step,
            step_index=saga.step_index,
            direction=Direction.OPERATOR,
            attempt=saga.attempt,
            status=StepStatus.RECORDED,
            started_at=now,
            finished_at=now,
            action=action,
            actor=actor or "unknown",
            reason=reason,
            result=details or {},
        )
    )


def fenced_update(saga: SagaInstance, **fields: Any) -> None:
    """Write `fields` only if nobody changed the saga since it was read; ActionNotAllowed otherwise."""
    if not store.fenced_update(saga, timezone.now(), **fields):
        raise ActionNotAllowed(_("The saga changed while you were acting on it; look again and retry."))


def last_error_fields(status: str, context: dict[str, Any]) -> dict[str, str]:
    """The last_error update for an operator's move to `status`, which meets no error itself."""
    last_error = transitions.last_error_after(status, "", context)
    return {} if last_error is None else {"last_error": last_error}
