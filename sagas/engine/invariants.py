"""The invariants each saga definition registers for `check_consistency`.

The engine checks its own invariants (sagas.consistency); what must hold for a business,
such as "a completed order has its payment captured", only the app that owns the saga
knows. That app registers a check under its definition's name in its AppConfig.ready(),
and `check_consistency` runs every registered check with the engine's own.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.db import connections
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

T = TypeVar("T")


@dataclass(frozen=True)
class Violation:
    """One broken invariant, with the saga and the business key (order) it concerns when there is one.

    `message` is English, as the JSON output and the logs want it. A violation made with `of`
    also keeps its English template (marked with gettext_noop) and values, so a reader's output
    can say it in the active language (`message_in_language`).
    """

    invariant: int
    saga_id: str | None
    business_key: str | None
    message: str
    template: str = field(default="", compare=False, repr=False)
    values: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(
        cls, invariant: int, saga_id: str | None, business_key: str | None, template: str, **values: Any
    ) -> Violation:
        """A violation whose message is `template` % `values`; a value may be lazy, translated when shown."""
        with translation.override(None):  # the stored message is English whatever the language
            message = template % values
        return cls(invariant, saga_id, business_key, message, template, values)

    def message_in_language(self) -> str:
        """The message in the active language: its template translated, else the English as it is."""
        if not self.template:
            return self.message
        return gettext(self.template) % self.values

    def as_dict(self) -> dict[str, Any]:
        return {
            "invariant": self.invariant,
            "saga_id": self.saga_id,
            "business_key": self.business_key,
            "message": self.message,
        }

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
    5: gettext_lazy("nothing is stuck unnoticed: no saga in progress past its deadline without a live lease"),
    11: gettext_lazy(
        "no step succeeded twice: one successful action, and one successful compensation, per step of a saga"
    ),
    12: gettext_lazy("no overlapping attempts: the attempts of one saga ran one at a time"),
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


# --- running a check's independent parts at once ------------------------------------------------


def own_connections_see_everything() -> bool:
    """True when a part run on another thread (with connections of its own) sees what this thread sees.

    Inside a transaction on any alias (a test, or a caller checking its own uncommitted
    writes) another connection would not see those writes, so the parts must run here.
    """
    return not any(connections[alias].in_atomic_block for alias in connections)


def _on_own_connections(part: Callable[[], Iterable[T]]) -> list[T]:
    try:
        return list(part())
    finally:
        connections.close_all()


def run_parts(parts: Sequence[Callable[[], Iterable[T]]]) -> list[T]:
    """The results of independent parts of a check, in the order given.

    Each part reads its own database alias (or its own tables) and waits on PostgreSQL most of
    its time, so the parts run on threads of their own, each with its own connections, and the
    slowest part bounds the check instead of their sum. Parts never share a snapshot either way:
    each query is its own statement. Run one after the other when a transaction is open here.
    """
    if len(parts) < 2 or not own_connections_see_everything():
        return [item for part in parts for item in part()]
    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="consistency") as pool:
        futures = [pool.submit(_on_own_connections, part) for part in parts]
        return [item for future in futures for item in future.result()]


_DONE = object()


def read_ahead(rows: Iterator[T], chunk: int) -> Iterator[T]:
    """`rows`, read on a thread of its own (its own connection) a chunk ahead of the consumer.

    A merge join spends its time in Python while each stream waits on its query: reading
    ahead overlaps the two. At most two chunks wait in memory. Inline when a transaction is
    open here (see own_connections_see_everything).
    """
    if not own_connections_see_everything():
        yield from rows
        return
    chunks: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            while not stop.is_set():
                batch = list(itertools.islice(rows, chunk))
                _put(chunks, stop, batch if batch else _DONE)
                if not batch:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            _put(chunks, stop, exc)
        finally:
            connections.close_all()

    reader = threading.Thread(target=produce, name="consistency-read-ahead", daemon=True)
    reader.start()
    try:
        while (batch := chunks.get()) is not _DONE:
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        stop.set()
        reader.join()


def _put(chunks: queue.Queue, stop: threading.Event, item: object) -> None:
    while not stop.is_set():
        try:
            chunks.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
