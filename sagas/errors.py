"""Errors the engine's services raise to their callers (commands, admin, API)."""


class SagaNotFound(LookupError):
    """No saga has that id."""


class ActionNotAllowed(Exception):
    """The saga's state does not allow the operator action; the message says why."""


class InvalidSagaRequest(ValueError):
    """A request to start a saga (such as placing an order) with a bad field; `field` names it for forms and APIs."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
