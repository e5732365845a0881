"""Saga definitions as data: steps, their compensations, retry policies and timeouts.

A definition is registered under its name and version. An instance records both and always
finishes on the version it started with, so a deploy that changes a definition leaves
sagas already in flight untouched. Step names are persisted: renaming one needs a new version.
"""

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import gettext as _

from sagas.participant.refusals import BusinessRefusal


@dataclass(frozen=True)
class StepCall:
    """What a step function receives: the saga's input, earlier results and its key."""

    saga_id: str
    step_name: str
    input: Mapping[str, Any]
    results: Mapping[str, Any]
    key: str
    action_key: str
    reason: str = ""


StepFunction = Callable[[StepCall], dict[str, Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing step is tried, how long to wait between tries, and what then.

    Business refusals are never retried. `on_exhausted` is "compensate" (undo what was done)
    or "fail" (stop as FAILED for an operator to retry or compensate).
    """

    max_attempts: int = 3
    backoff_seconds: float = 0.2
    backoff_max_seconds: float = 10.0
    jitter: float = 0.5
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    on_exhausted: Literal["compensate", "fail"] = "compensate"

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.on_exhausted not in ("compensate", "fail"):
            raise ValueError("on_exhausted must be 'compensate' or 'fail'")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the given failed attempt: exponential, capped, jittered."""
        base = min(self.backoff_max_seconds, self.backoff_seconds * (2 ** max(attempt - 1, 0)))
        return base * (1 - self.jitter * random.random())

    def retries(self, error: BaseException) -> bool:
        return not isinstance(error, BusinessRefusal) and isinstance(error, self.retry_on)


@dataclass(frozen=True)
class Step:
    name: str
    action: StepFunction
    compensation: StepFunction | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    compensation_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=5, on_exhausted="fail"))
    timeout_seconds: float = 10.0
    pivot: bool = False


@dataclass(frozen=True)
class SagaDefinition:
    name: str
    version: int
    steps: tuple[Step, ...]
    deadline_seconds: int | None = None
    description: str = ""
    # What a person calls this kind of saga ("order placement"); its name when left out.
    label: str = ""
    # What a person calls the business object the saga's business key names ("order", read as
    # "order id"); people then find the saga by that word. Left out, the key is a "business key".
    business_key_label: str = ""

    def __post_init__(self) -> None:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"Saga {self.name} v{self.version} repeats a step name.")
        pivots = [index for index, step in enumerate(self.steps) if step.pivot]
        if len(pivots) > 1:
            raise ValueError(f"Saga {self.name} v{self.version} has more than one pivot.")
        for index, step in enumerate(self.steps):
            if step.compensation is not None and pivots and index >= pivots[0]:
                raise ValueError(f"Step {step.name} comes at or after the pivot and cannot compensate.")

    @property
    def pivot_index(self) -> int:
        """Index of the pivot step; without one, the last step."""
        for index, step in enumerate(self.steps):
            if step.pivot:
                return index
        return len(self.steps) - 1

    def step(self, index: int) -> Step:
        return self.steps[index]

    @property
    def title(self) -> str:
        return self.label or self.name


_registry: dict[tuple[str, int], SagaDefinition] = {}


def register(definition: SagaDefinition) -> SagaDefinition:
    """Make a definition available to the engine; registering the same one twice is harmless."""
    key = (definition.name, definition.version)
    existing = _registry.get(key)
    if existing is not None and existing is not definition:
        raise ValueError(f"Saga {definition.name} v{definition.version} is already registered.")
    _registry[key] = definition
    return definition


def get_definition(name: str, version: int | None = None) -> SagaDefinition:
    """The definition of that name and version, or the latest version when none is given."""
    if version is None:
        versions = [v for (n, v) in _registry if n == name]
        if not versions:
            raise LookupError(f"No saga definition named {name!r}.")
        version = max(versions)
    try:
        return _registry[(name, version)]
    except KeyError:
        raise LookupError(f"No saga definition {name!r} version {version}.") from None


def definition_title(name: str, version: int | None = None) -> str:
    """What people call sagas of that definition ("order placement", translated), or its name if none is registered."""
    try:
        return str(get_definition(name, version).title)
    except LookupError:  # a version this process does not have (during a rolling deploy)
        try:
            return str(get_definition(name).title)
        except LookupError:
            return name


def business_key_name(definition_name: str) -> str:
    """What people call the business key of a saga of that definition: "order id", or "business key"."""
    try:
        word = get_definition(definition_name).business_key_label
    except LookupError:
        word = ""
    return _("%(word)s id") % {"word": word} if word else _("business key")


def registered_names() -> list[str]:
    return sorted({name for name, _ in _registry})
