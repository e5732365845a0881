"""A toy saga for the engine's own tests: no business app, three steps, one invariant.

It proves the engine needs no order to run. Booking some units records a row in a ledger
table of its own on `default`; a check refuses more than `LIMIT` units, which releases the
booking; confirming is the pivot. Each step records under its idempotency key, so a repeated
step leaves one row. Each step passes a fault point before and after its effect
(`toy.<step>`, e.g. `toy.book_units`), so a test plants a fault rule on it as on any
participant. A worker process loads this module through the SAGA_DEFINITION_MODULES setting,
the way any saga defined outside an app is loaded.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from django.db import connections
from django.utils.translation import gettext_lazy

from sagas.engine.definition import RetryPolicy, SagaDefinition, Step, StepCall, register
from sagas.engine.invariants import CheckContext, Violation, register_invariants
from sagas.models import SagaInstance, SagaStatus
from sagas.participant import faults
from sagas.participant.refusals import BusinessRefusal

NAME = "toy_booking"
LIMIT = 5
LEDGER = "sagas_toy_ledger"
INVARIANT = 90


class Entry(StrEnum):
    BOOKED = "BOOKED"
    RELEASED = "RELEASED"
    CONFIRMED = "CONFIRMED"


class TooManyUnits(BusinessRefusal):
    """More units than a toy booking allows."""


def _ensure_ledger(cursor: Any) -> None:
    # A test-only table: made on first use, so the engine's migrations know nothing of it.
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {LEDGER} "
        "(key VARCHAR(200) PRIMARY KEY, saga_id VARCHAR(36) NOT NULL,"
        " kind VARCHAR(16) NOT NULL, units INTEGER NOT NULL)"
    )


def record(key: str, saga_id: str, kind: Entry, units: int) -> None:
    """Add a ledger row once per key; a repeat under the same key changes nothing."""
    with connections["default"].cursor() as cursor:
        _ensure_ledger(cursor)
        cursor.execute(
            f"INSERT INTO {LEDGER} (key, saga_id, kind, units) VALUES (%s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
            [key, saga_id, str(kind), units],
        )


def ledger_rows(saga_ids: list[str]) -> list[tuple[str, str, int]]:
    """(saga id, kind, units) of every ledger row of those sagas."""
    if not saga_ids:
        return []
    with connections["default"].cursor() as cursor:
        _ensure_ledger(cursor)
        marks = ", ".join(["%s"] * len(saga_ids))
        cursor.execute(f"SELECT saga_id, kind, units FROM {LEDGER} WHERE saga_id IN ({marks})", saga_ids)
        return list(cursor.fetchall())


def fault_point(step: str) -> str:
    """The fault-rule operation a toy step passes, before and after its effect."""
    return f"toy.{step}"


def units_book(call: StepCall) -> dict[str, Any]:
    faults.inject(fault_point("book_units"), "before")
    units = int(call.input["units"])
    record(call.key, call.saga_id, Entry.BOOKED, units)
    faults.inject(fault_point("book_units"), "after")
    return {"booked": units}


def units_release(call: StepCall) -> dict[str, Any]:
    faults.inject(fault_point("release_units"), "before")
    units = int(call.input["units"])
    record(call.key, call.saga_id, Entry.RELEASED, units)
    faults.inject(fault_point("release_units"), "after")
    return {"released": units}


def limit_check(call: StepCall) -> dict[str, Any]:
    faults.inject(fault_point("check_limit"), "before")
    if int(call.input["units"]) > LIMIT:
        raise TooManyUnits(f"At most {LIMIT} units.", limit=LIMIT)
    faults.inject(fault_point("check_limit"), "after")
    return {"within_limit": True}


def limit_forget(call: StepCall) -> dict[str, Any]:
    # The check holds nothing; it has a compensation so that a check whose outcome was lost
    # shows the engine undoing two steps, in reverse order.
    faults.inject(fault_point("forget_limit"), "before")
    return {"forgotten": True}


def booking_confirm(call: StepCall) -> dict[str, Any]:
    faults.inject(fault_point("confirm_booking"), "before")
    record(call.key, call.saga_id, Entry.CONFIRMED, int(call.input["units"]))
    faults.inject(fault_point("confirm_booking"), "after")
    return {"confirmed": True}


_QUICK = RetryPolicy(max_attempts=3, backoff_seconds=0.05)

TOY_SAGA = register(
    SagaDefinition(
        name=NAME,
        version=1,
        label=gettext_lazy("toy booking"),
        description="Book units, check the limit, confirm: the engine's own test saga.",
        steps=(
            Step("book_units", units_book, compensation=units_release, retry=_QUICK),
            Step("check_limit", limit_check, compensation=limit_forget, retry=_QUICK),
            Step("confirm_booking", booking_confirm, retry=_QUICK, pivot=True),
        ),
    )
)


def toy_violations(context: CheckContext) -> Iterator[Violation]:
    """Invariant 90: a completed toy booking was booked and confirmed once and never released;
    a compensated one released every unit it booked and was never confirmed."""
    finished = dict(
        SagaInstance.objects.filter(
            definition_name=NAME, status__in=[SagaStatus.COMPLETED, SagaStatus.COMPENSATED]
        ).values_list("id", "status")
    )
    entries: dict[str, Counter] = defaultdict(Counter)
    for saga_id, kind, units in ledger_rows([str(pk) for pk in finished]):
        entries[saga_id][kind] += 1
        entries[saga_id][f"{kind} units"] += units
    for pk, status in finished.items():
        saga_id, seen = str(pk), entries[str(pk)]
        if status == SagaStatus.COMPLETED:
            if seen[Entry.BOOKED] != 1 or seen[Entry.CONFIRMED] != 1 or seen[Entry.RELEASED]:
                yield Violation(
                    INVARIANT, saga_id, None, f"completed with {_show(seen)}, expected one booking confirmed"
                )
        elif seen[Entry.CONFIRMED] or seen[f"{Entry.RELEASED} units"] != seen[f"{Entry.BOOKED} units"]:
            problem = f"compensated with {_show(seen)}, expected the booking released"
            yield Violation(INVARIANT, saga_id, None, problem)


def _show(seen: Counter) -> str:
    return ", ".join(f"{seen[kind]} {kind.lower()}" for kind in Entry) or "nothing"


register_invariants(
    NAME, {INVARIANT: gettext_lazy("a toy booking is confirmed once, or released in full")}, toy_violations
)


def booked(units: int = 2) -> SagaInstance:
    """A toy booking started and run to its end in this process (the queue drained)."""
    # Imported here: a worker loads this module while the engine's apps are still being set up.
    from sagas.services import saga_start
    from sagas.testing.drain import drain

    saga, _ = saga_start(NAME, {"units": units})
    drain()
    saga.refresh_from_db()
    return saga
