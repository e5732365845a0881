"""The invariants each saga definition registers for `check_consistency`.

The engine checks its own invariants (sagas.consistency); what must hold for a business,
such as "a completed order has its payment captured", only the app that owns the saga
knows. That app registers a check under its definition's name in its AppConfig.ready(),
and `check_consistency` runs every registered check with the engine's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One broken invariant, with the saga and the business key (order) it concerns when there is one."""

    invariant: int
    saga_id: str | None
    business_key: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"[{self.invariant}] saga={self.saga_id or '-'} key={self.business_key or '-'}: {self.message}"


@dataclass(frozen=True)
class CheckContext:
    """What every check is told: the moment it checks against and how late counts as stuck."""

    now: datetime
    stuck_grace_seconds: int


@dataclass(frozen=True)
class InvariantCheck:
    """A definition's invariants, by number and title, and the function that finds their violations.

    One function may report several invariants: a check that walks the business rows once
    can judge them all in that pass.
    """

    definition_name: str
    titles: Mapping[int, str]
    find: Callable[[CheckContext], Iterable[Violation]]


# The engine's own invariants, checked whatever sagas are defined (see sagas.consistency).
ENGINE_INVARIANTS: dict[int, str] = {
    5: "nothing is stuck unnoticed: no saga in progress past its deadline without a live lease",
    11: "no step succeeded twice: one successful action, and one successful compensation, per step of a saga",
    12: "no overlapping attempts: the attempts of one saga ran one at a time",
}


_checks: dict[str, InvariantCheck] = {}


def register_invariants(
    definition_name: str, titles: Mapping[int, str], find: Callable[[CheckContext], Iterable[Violation]]
) -> InvariantCheck:
    """Register the invariants of a saga definition; registering the same check again is harmless.

    ValueError when an invariant number is already taken by another definition or by the
    engine: the report names invariants by number, so a number means one thing.
    """
    check = InvariantCheck(definition_name, dict(titles), find)
    existing = _checks.get(definition_name)
    if existing is not None and (existing.find is not find or dict(existing.titles) != check.titles):
        raise ValueError(f"Invariants of saga {definition_name!r} are already registered.")
    taken = {number: name for name, other in _checks.items() if name != definition_name for number in other.titles}
    for number in check.titles:
        if number in ENGINE_INVARIANTS:
            raise ValueError(f"Invariant {number} is the engine's own; saga {definition_name!r} must use another.")
        if number in taken:
            raise ValueError(f"Invariant {number} of saga {definition_name!r} is already saga {taken[number]!r}'s.")
    _checks[definition_name] = check
    return check


def unregister_invariants(definition_name: str) -> None:
    """Forget a definition's invariants (for tests that register a check of their own)."""
    _checks.pop(definition_name, None)


def registered_checks() -> list[InvariantCheck]:
    """Every registered check, by definition name."""
    return [_checks[name] for name in sorted(_checks)]


def all_invariants() -> dict[int, str]:
    """The title of every invariant checked, the engine's and each definition's, by number."""
    titles = dict(ENGINE_INVARIANTS)
    for check in registered_checks():
        titles.update(check.titles)
    return dict(sorted(titles.items()))
