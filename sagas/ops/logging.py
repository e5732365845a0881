"""Saga context on every log line: the saga id, the step and the attempt.

The context lives in context variables, set by `saga_log_context` around a saga's task and
around each step call; `SagaContextFilter` sits on the handler, so every logger's records
(the engine's, a participant's, django-q2's, a library's) pick it up in whatever process
writes them. `JsonFormatter` writes one JSON object per line for log shippers.
"""

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

UNSET = "-"
_CONTEXT_FIELDS = ("saga_id", "step", "attempt")

_saga_id: contextvars.ContextVar[str] = contextvars.ContextVar("saga_id", default=UNSET)
_step: contextvars.ContextVar[str] = contextvars.ContextVar("step", default=UNSET)
_attempt: contextvars.ContextVar[int | str] = contextvars.ContextVar("attempt", default=UNSET)


@contextlib.contextmanager
def saga_log_context(saga_id: Any, step: str = UNSET, attempt: int | str = UNSET) -> Iterator[None]:
    """Tag every log record written inside the block with the saga, step and attempt."""
    tokens = (_saga_id.set(str(saga_id)), _step.set(step or UNSET), _attempt.set(attempt))
    try:
        yield
    finally:
        _attempt.reset(tokens[2])
        _step.reset(tokens[1])
        _saga_id.reset(tokens[0])


def current_saga_context() -> dict[str, Any]:
    """The saga id, step and attempt that a record written here would carry."""
    return {"saga_id": _saga_id.get(), "step": _step.get(), "attempt": _attempt.get()}


class SagaContextFilter(logging.Filter):
    """Adds saga_id, step and attempt to every record; values passed in `extra` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_saga_context().items():
            if getattr(record, name, None) in (None, ""):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the saga context and any extras."""

    _STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                payload[key] = value
        for name in _CONTEXT_FIELDS:
            # null, not "-", outside a saga: a log store then types each field one way.
            if payload.get(name) == UNSET:
                payload[name] = None
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        # default=str keeps a line even when an extra is not JSON-serialisable (a UUID, a Decimal).
        return json.dumps(payload, default=str, ensure_ascii=False)
