"""Saga context on every log line: the saga id, the step and the attempt."""

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

_saga_id = contextvars.ContextVar("saga_id", default="-")
_step = contextvars.ContextVar("step", default="-")
_attempt = contextvars.ContextVar("attempt", default="-")


@contextlib.contextmanager
def saga_log_context(saga_id: str, step: str = "-", attempt: int | str = "-") -> Iterator[None]:
    """Tag every log record written inside the block with the saga, step and attempt."""
    tokens = (_saga_id.set(str(saga_id)), _step.set(step), _attempt.set(str(attempt)))
    try:
        yield
    finally:
        _attempt.reset(tokens[2])
        _step.reset(tokens[1])
        _saga_id.reset(tokens[0])


class SagaContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.saga_id = getattr(record, "saga_id", None) or _saga_id.get()
        record.step = getattr(record, "step", None) or _step.get()
        record.attempt = getattr(record, "attempt", None) or _attempt.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    _SKIP = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._SKIP:
                payload[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload)
