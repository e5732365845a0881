"""The two kinds of failure a participant operation can report.

A `BusinessRefusal` is final: no retry can change the answer (out of stock, insufficient
funds), so the saga compensates at once. A `TransientError` may succeed later (a lost
connection, a timeout) and is retried by the step's policy. Any other exception counts as
transient too.
"""

from typing import Any, ClassVar

from django.utils.translation import gettext_noop

from sagas.engine.notes import register_notes


class BusinessRefusal(Exception):
    """A participant declined the operation for a business reason."""

    code: ClassVar[str] = "refused"
    registry: ClassVar[dict[str, type["BusinessRefusal"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        BusinessRefusal.registry[cls.code] = cls

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BusinessRefusal":
        """Rebuild a recorded refusal so a replay raises what the first call raised."""
        refusal_class = cls.registry.get(data.get("code", ""), BusinessRefusal)
        return refusal_class(data.get("message", ""), **(data.get("details") or {}))


BusinessRefusal.registry[BusinessRefusal.code] = BusinessRefusal


class ActionBlocked(BusinessRefusal):
    """The action was already compensated, so it may not run late."""

    code = "action_blocked"


class InjectedRefusal(BusinessRefusal):
    """Refused by a fault-injection rule."""

    code = "injected_refusal"


class TransientError(Exception):
    """A failure that may go away if the operation is tried again."""


class InjectedTransientError(TransientError):
    """A transient failure raised by a fault-injection rule."""


# The toolkit's own sentences that a step log stores in English (idempotency.py's blocked action,
# faults.py's injected failures), with the values their code puts in.
TOOLKIT_NOTES = (
    gettext_noop("Key %(key)s was compensated before the action ran."),
    gettext_noop("%(operation)s refused by a fault rule"),
    gettext_noop("%(operation)s failed by a fault rule"),
)


def register_refusal_notes(*templates: str) -> None:
    """Show a participant's stored refusals (and the toolkit's) in the reader's language.

    Called from the participant's AppConfig.ready() with the msgids its services raise with,
    marked with gettext_noop so its own catalogue translates them.
    """
    register_notes(*TOOLKIT_NOTES, *templates)
