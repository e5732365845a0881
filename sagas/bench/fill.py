"""Filling the databases with many finished sagas, fast, for measuring the console at scale.

The engine writes the saga rows and their step logs; the app that owns the saga registers a
`FillWorkload` (from its AppConfig.ready()) that writes the business rows each synthetic saga
stands for, consistent with its outcome, so `check_consistency` has real work to do and finds
nothing wrong. On PostgreSQL rows go in with COPY; elsewhere with bulk inserts.
"""

import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import connections, transaction


class Outcome(StrEnum):
    """How a synthetic saga ended (or did not)."""

    COMPLETED = "completed"
    COMPENSATED = "compensated"
    FAILED = "failed"
    STUCK = "stuck"


@dataclass(frozen=True)
class PlannedSaga:
    """One synthetic saga: its id, its business key (the saga's business_key column), how it ended, when it began."""

    saga_id: uuid.UUID
    key: uuid.UUID
    outcome: str
    created: datetime
    number: int


@dataclass(frozen=True)
class FillScope:
    """What a workload opened for one fill: the party its sagas belong to, their input, and its row writer."""

    party: str
    # The saga input of a planned saga, as its definition's first step would read it.
    saga_input: Callable[[PlannedSaga], dict[str, Any]]
    # Write the business rows of every planned saga; returns rows written per table.
    write: Callable[[list[PlannedSaga]], dict[str, int]]


@dataclass(frozen=True)
class FillWorkload:
    """The saga the fill writes, registered by the app that owns it."""

    definition_name: str
    # The forward steps a completed saga logged, in order.
    steps: tuple[str, ...]
    # The last error of a saga that did not complete.
    failure: str
    # Create what the sagas of one fill share (run: a short unique tag, total: how many sagas).
    open: Callable[[str, int], FillScope]


_workload: list[FillWorkload] = []


def register_fill_workload(workload: FillWorkload) -> None:
    """Make `workload` the saga that fill() writes (call from the owning app's ready())."""
    _workload[:] = [workload]


def fill_workload() -> FillWorkload:
    """The registered workload; LookupError when no app registered one."""
    if not _workload:
        raise LookupError("No app registered a fill workload (sagas.bench.fill.register_fill_workload).")
    return _workload[0]


def _stored_form(connection):
    """Values as the ORM itself would store them, so lookups by id and date find the filled rows."""
    ops = connection.ops

    def adapt(value):
        if isinstance(value, uuid.UUID):
            return value.hex
        if isinstance(value, datetime):
            return ops.adapt_datetimefield_value(value)
        if isinstance(value, Decimal):
            return str(value)
        return value

    return adapt


def copy_rows(alias: str, table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> int:
    """Write rows into a table: COPY on PostgreSQL, executemany elsewhere."""
    connection = connections[alias]
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            batch: list[tuple] = []
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
            adapt = _stored_form(connection)
            for row in rows:
                batch.append(tuple(adapt(v) for v in row))
                if len(batch) >= 5000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
    return count


def fill(total: int, seed: int = 1, failed_share: float = 0.01, stuck_share: float = 0.001) -> dict[str, int]:
    """Add `total` sagas with step logs and matching participant rows; returns rows written per table."""
    rng = random.Random(seed)
    workload = fill_workload()
    steps = workload.steps
    scope = workload.open(uuid.uuid4().hex[:6], total)
    now = datetime.now(UTC)
    plan = []
    for number in range(total):
        roll = rng.random()
        outcome = (
            Outcome.FAILED
            if roll < failed_share
            else Outcome.STUCK
            if roll < failed_share + stuck_share
            else (Outcome.COMPLETED if rng.random() < 0.8 else Outcome.COMPENSATED)
        )
        created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
        plan.append(PlannedSaga(uuid.uuid4(), uuid.uuid4(), outcome, created, number))
    written: dict[str, int] = {}
    status_of = {
        Outcome.COMPLETED: "COMPLETED",
        Outcome.COMPENSATED: "COMPENSATED",
        Outcome.FAILED: "FAILED",
        Outcome.STUCK: "RUNNING",
    }

    def saga_rows() -> Iterator[tuple]:
        for saga in plan:
            kind = saga.outcome
            finished = saga.created + timedelta(milliseconds=rng.randint(40, 400)) if kind != Outcome.STUCK else None
            lease = saga.created + timedelta(seconds=20) if kind == Outcome.STUCK else None
            error = workload.failure if kind != Outcome.COMPLETED else ""
            context = json.dumps({"input": scope.saga_input(saga)})
            yield (
                saga.saga_id,
                workload.definition_name,
                1,
                "orchestration",
                status_of[kind],
                "COMPENSATION" if kind == Outcome.COMPENSATED else "FORWARD",
                len(steps) - 1 if kind == Outcome.COMPLETED else 0,
                steps[-1] if kind == Outcome.COMPLETED else steps[0],
                1,
                context,
                None,
                saga.key,
                scope.party,
                "",
                lease,
                3,
                None,
                now + timedelta(days=1) if kind == Outcome.STUCK else saga.created + timedelta(seconds=300),
                False,
                error,
                None,
                "",
                saga.created,
                finished or saga.created,
                finished,
            )

    columns = (
        "id",
        "definition_name",
        "definition_version",
        "style",
        "status",
        "direction",
        "step_index",
        "current_step",
        "attempt",
        "context",
        "idempotency_key",
        "business_key",
        "party",
        "lease_owner",
        "lease_expires_at",
        "version",
        "next_run_at",
        "deadline_at",
        "paused",
        "last_error",
        "resolved_at",
        "resolved_by",
        "created_at",
        "updated_at",
        "finished_at",
    )
    with transaction.atomic(using="default"):
        written["sagas"] = copy_rows("default", "sagas_sagainstance", columns, saga_rows())

    def step_rows() -> Iterator[tuple]:
        for saga in plan:
            names = steps if saga.outcome == Outcome.COMPLETED else steps[:1]
            for index, name in enumerate(names):
                started = saga.created + timedelta(milliseconds=10 * index)
                status = "SUCCEEDED" if saga.outcome in (Outcome.COMPLETED, Outcome.COMPENSATED) else "FAILED"
                yield (
                    saga.saga_id,
                    name,
                    index,
                    "FORWARD",
                    1,
                    status,
                    "",
                    started,
                    started + timedelta(milliseconds=8),
                    "{}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                )

    step_columns = (
        "saga_id",
        "step_name",
        "step_index",
        "direction",
        "attempt",
        "status",
        "idempotency_key",
        "started_at",
        "finished_at",
        "result",
        "error_type",
        "error_message",
        "traceback",
        "worker",
        "action",
        "actor",
        "reason",
    )
    with transaction.atomic(using="default"):
        written["steps"] = copy_rows("default", "sagas_sagasteplog", step_columns, step_rows())

    written.update(scope.write(plan))
    return written
