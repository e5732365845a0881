"""The state store: every write of saga state (saga rows, their step log, their queue rows).

The engine decides what a saga becomes (`sagas.engine.runner`, the styles, the operator's
services); this module writes it, and is the only place that knows how. Every move of a saga
is fenced by the version its writer read: it lands whole if the saga still has that version,
and not at all otherwise.

Two paths write the same rows with the same guarantees. On PostgreSQL a move (a claim, a
checkpoint that also claims the next step, a terminal checkpoint) and the queue row and
NOTIFY that go with it are ONE statement, a data-modifying CTE that is its own transaction
(autocommit): one round trip instead of BEGIN, three or four statements and COMMIT. Each
sub-statement after the saga's update is conditional on it (`FROM moved`), so a fenced-out
writer changes nothing, as a rolled-back transaction would. Elsewhere (SQLite) the ORM writes
them in one transaction.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, models, transaction
from django.db.models import F
from django_q.models import OrmQ

from sagas.engine import notes
from sagas.engine.queue import enqueue_saga, saga_queue_row
from sagas.models import SagaInstance, SagaStepLog, StepStatus
from sagas.workers.broker import QUEUE_CHANNEL, notifying

LOST_ATTEMPT_MESSAGE = notes.LOST_ATTEMPT


@dataclass
class SagaWrite:
    """One fenced move of a saga and the rows that go with it, written together or not at all."""

    saga_id: str
    version: int  # the version its writer read
    fields: dict[str, Any]  # the saga's columns to set; the version and updated_at are set here
    now: datetime
    # The attempt this move reports on: its log row's id and what to record on it.
    finish_attempt: tuple[int, dict[str, Any]] | None = None
    # Close the attempts still RUNNING that workers other than this one started.
    abandon_lost_of: str | None = None
    notes: Sequence[SagaStepLog] = ()  # log rows recorded with the move
    attempt: SagaStepLog | None = None  # the attempt this move opens: its id comes back
    enqueue_delay: float | None = None  # queue a run of the saga, after this many seconds


@dataclass(frozen=True)
class Written:
    moved: bool  # False: the saga had moved on since its writer read it; nothing was written
    attempt_id: int | None = None


def apply(write: SagaWrite) -> Written:
    """Write one move of a saga, fenced by its version."""
    if _one_statement():
        return _apply_in_one_statement(write)
    with transaction.atomic(using="default", savepoint=False):
        moved = SagaInstance.objects.filter(pk=write.saga_id, version=write.version).update(
            version=F("version") + 1, updated_at=write.now, **write.fields
        )
        if not moved:
            return Written(moved=False)
        if write.abandon_lost_of is not None:
            _abandon_lost_attempts(write.saga_id, write.abandon_lost_of, write.now)
        if write.finish_attempt is not None:
            log_id, log_fields = write.finish_attempt
            SagaStepLog.objects.filter(pk=log_id).update(**log_fields)
        if write.notes:
            SagaStepLog.objects.bulk_create(write.notes)
        if write.attempt is not None:
            write.attempt.save(force_insert=True)
        if write.enqueue_delay is not None:
            enqueue_saga(write.saga_id, write.enqueue_delay)
    return Written(moved=True, attempt_id=write.attempt.pk if write.attempt is not None else None)


@contextmanager
def writing(*, durable: bool = False) -> Iterator[None]:
    """Around a read of a saga, what its reader decides, and the fenced write of it.

    A checkpoint is `durable`: its own transaction, committed when the block ends.
    """
    _drop_if_lost()
    if not _one_statement():
        with transaction.atomic(using="default", durable=durable):
            yield
        return
    # Each write below is its own statement and transaction; the read needs none, since the
    # write is fenced by the version read.
    connection = connections["default"]
    # As Django's durable atomic block: a test case's own transaction does not count.
    if durable and connection.atomic_blocks and not connection.atomic_blocks[-1]._from_testcase:
        raise RuntimeError("A checkpoint must be its own transaction, not part of an outer atomic block.")
    yield


def _drop_if_lost() -> None:
    """Close `default`'s connection if a statement failed on it and it no longer works.

    A lost connection (the server restarted, the backend was terminated) fails the statement
    that meets it; the next write of the same task would fail on the dead connection too, so
    it reconnects instead. Checked only after an error: a healthy connection costs nothing.
    """
    connection = connections["default"]
    if connection.in_atomic_block or connection.connection is None or not connection.errors_occurred:
        return
    if connection.is_usable():
        connection.errors_occurred = False
    else:
        connection.close()


def read_saga(saga_id: str) -> SagaInstance | None:
    return SagaInstance.objects.filter(pk=saga_id).first()


def _abandon_lost_attempts(saga_id: str, owner: str, now: datetime) -> None:
    """Mark attempts of other workers that never reported back, so no log row runs forever.

    Written once the lease is ours: whoever ran them lost its lease (it died, or it will find
    its checkpoint fenced and record its own finish over this one).
    """
    SagaStepLog.objects.filter(saga_id=saga_id, status=StepStatus.RUNNING).exclude(worker=owner).update(
        status=StepStatus.ABANDONED,
        finished_at=now,
        error_message=LOST_ATTEMPT_MESSAGE,
    )


def record_late_answer(log_id: int, fields: dict[str, Any]) -> None:
    """Record on its log row the answer of an attempt whose checkpoint was fenced out."""
    SagaStepLog.objects.filter(pk=log_id).update(**fields)


def enqueue(saga_id: str, delay_seconds: float = 0.0) -> None:
    """Queue one more run of the saga, changing nothing else."""
    with transaction.atomic(using="default", savepoint=False):
        enqueue_saga(saga_id, delay_seconds)


def create_saga(saga: SagaInstance) -> SagaInstance:
    """Insert a new saga and queue its first run, together; IntegrityError for a taken idempotency key."""
    if _one_statement():
        _create_in_one_statement(saga)
        return saga
    with transaction.atomic(using="default"):
        saga.save(force_insert=True)
        enqueue_saga(saga.pk)
    return saga


def insert_saga(saga: SagaInstance, *rows: SagaStepLog) -> None:
    """Insert a new saga with the first rows of its step log; call inside the caller's transaction."""
    saga.save(force_insert=True)
    append_log(*rows)


def fenced_update(saga: SagaInstance, now: datetime, **fields: Any) -> bool:
    """Set `fields` if nobody changed the saga since it was read; whether it did."""
    moved = SagaInstance.objects.filter(pk=saga.pk, version=saga.version).update(
        version=F("version") + 1, updated_at=now, **fields
    )
    return bool(moved)


def append_log(*rows: SagaStepLog) -> None:
    """Record rows in sagas' step logs (operator acts, system notes, events)."""
    if not rows:
        return
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    else:
        SagaStepLog.objects.bulk_create(rows)


def cut_short_attempts(saga_id: str, *, actor: str, action: str, reason: str, now: datetime) -> None:
    """Close the attempts in flight that an operator's action takes the saga away from.

    Called in the action's transaction. Their workers may still be running; their late
    checkpoints are fenced out, and the row keeps who cut them short and why.
    """
    SagaStepLog.objects.filter(saga_id=saga_id, status=StepStatus.RUNNING).update(
        status=StepStatus.ABANDONED,
        finished_at=now,
        actor=actor,
        error_message=notes.CUT_SHORT % {"actor": actor, "action": action, "reason": reason},
    )


def touch_and_enqueue(saga_ids: Sequence[str], now: datetime) -> None:
    """Queue a run of each saga (the recovery sweep's kick), marking the unleased ones touched now."""
    with transaction.atomic(using="default"):
        # Touching updated_at keeps the next sweep from kicking the same sagas again at once.
        SagaInstance.objects.filter(pk__in=saga_ids, lease_expires_at__isnull=True).update(updated_at=now)
        for saga_id in saga_ids:
            enqueue_saga(saga_id)


# --- PostgreSQL: one statement per move -------------------------------------------------------


def _one_statement() -> bool:
    return connections["default"].vendor == "postgresql"


class _Statement:
    """A data-modifying CTE under construction: named sub-statements and their parameters."""

    def __init__(self) -> None:
        self.connection = connections["default"]
        self.parts: list[str] = []
        self.params: list[Any] = []

    def table(self, model: type[models.Model]) -> str:
        return self.connection.ops.quote_name(model._meta.db_table)

    def column(self, model: type[models.Model], name: str) -> str:
        return self.connection.ops.quote_name(model._meta.get_field(name).column)

    def value(self, field: models.Field, value: Any) -> str:
        """A placeholder for `value`, cast to the column's type, its parameter added.

        The cast types every literal (a NULL, a string) the way the column reads it; text
        columns are cast to text, so a value too long for its column fails as in an INSERT.
        """
        self.params.append(field.get_db_prep_save(value, connection=self.connection))
        if field.get_internal_type() in ("CharField", "TextField"):
            return "CAST(%s AS text)"
        return f"CAST(%s AS {field.db_type(self.connection)})"

    def assignments(self, model: type[models.Model], fields: dict[str, Any]) -> str:
        return ", ".join(
            f"{self.column(model, name)} = {self.value(model._meta.get_field(name), value)}"
            for name, value in fields.items()
        )

    def rows(self, objs: Sequence[models.Model], source: str | None) -> str:
        """INSERT of `objs` (one model), each row only if `source` has a row (or VALUES without one)."""
        model = type(objs[0])
        fields = [field for field in model._meta.concrete_fields if not getattr(field, "db_returning", False)]
        columns = ", ".join(self.connection.ops.quote_name(field.column) for field in fields)
        selects = []
        for obj in objs:
            values = ", ".join(self.value(field, field.pre_save(obj, add=True)) for field in fields)
            selects.append(f"SELECT {values} FROM {source}" if source else f"VALUES ({values})")
        pk = self.connection.ops.quote_name(model._meta.pk.column)
        return f"INSERT INTO {self.table(model)} ({columns}) {' UNION ALL '.join(selects)} RETURNING {pk}"

    def add(self, name: str, sql: str, *params: Any) -> None:
        self.parts.append(f"{name} AS ({sql})")
        self.params.extend(params)

    def enqueue(self, row: OrmQ, source: str) -> None:
        """The saga's queue row, written if `source` has a row, and the NOTIFY that wakes a worker for it."""
        self.add("enq", self.rows([row], source))
        if notifying():
            self.add("woke", "SELECT pg_notify(%s, %s) FROM enq", QUEUE_CHANNEL, row.key)

    def run(self, final: str) -> tuple[Any, ...]:
        sql = f"WITH {', '.join(self.parts)} {final}"
        with self.connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            return cursor.fetchone()


def _apply_in_one_statement(write: SagaWrite) -> Written:
    statement = _Statement()
    saga_table, log_table = statement.table(SagaInstance), statement.table(SagaStepLog)
    pk = SagaInstance._meta.pk
    sets = statement.assignments(SagaInstance, {**write.fields, "updated_at": write.now})
    statement.add(
        "moved",
        f"UPDATE {saga_table} SET {sets}, {statement.column(SagaInstance, 'version')} = "
        f"{statement.column(SagaInstance, 'version')} + 1 WHERE {statement.column(SagaInstance, 'id')} = %s "
        f"AND {statement.column(SagaInstance, 'version')} = %s RETURNING 1",
        pk.get_db_prep_value(write.saga_id, statement.connection),
        write.version,
    )
    landed = "EXISTS (SELECT 1 FROM moved)"
    if write.abandon_lost_of is not None:
        sets = statement.assignments(
            SagaStepLog,
            {"status": StepStatus.ABANDONED, "finished_at": write.now, "error_message": LOST_ATTEMPT_MESSAGE},
        )
        statement.add(
            "lost",
            f"UPDATE {log_table} SET {sets} WHERE {statement.column(SagaStepLog, 'saga')} = %s "
            f"AND {statement.column(SagaStepLog, 'status')} = %s AND {statement.column(SagaStepLog, 'worker')} <> %s "
            f"AND {landed}",
            pk.get_db_prep_value(write.saga_id, statement.connection),
            StepStatus.RUNNING,
            write.abandon_lost_of,
        )
    if write.finish_attempt is not None:
        log_id, log_fields = write.finish_attempt
        sets = statement.assignments(SagaStepLog, log_fields)
        where = f"{statement.column(SagaStepLog, 'id')} = %s AND {landed}"
        statement.add("finished", f"UPDATE {log_table} SET {sets} WHERE {where}", log_id)
    rows = [*write.notes, *([write.attempt] if write.attempt is not None else [])]
    if rows:
        # One INSERT, in order: the attempt this move opens is the last row, with the highest id.
        statement.add("logged", statement.rows(rows, "moved"))
    row = saga_queue_row(write.saga_id, write.enqueue_delay) if write.enqueue_delay is not None else None
    if row is not None:
        statement.enqueue(row, "moved")
    moved, opened = statement.run(
        "SELECT (SELECT count(*) FROM moved), "
        + ("(SELECT max(id) FROM logged)" if rows else "NULL")
        + (", (SELECT count(*) FROM woke)" if row is not None and notifying() else "")
    )[:2]
    if moved and write.enqueue_delay is not None and row is None:
        enqueue_saga(write.saga_id, write.enqueue_delay)  # another broker: sent now, the move being committed
    return Written(moved=bool(moved), attempt_id=opened if write.attempt is not None and moved else None)


def _create_in_one_statement(saga: SagaInstance) -> None:
    statement = _Statement()
    statement.add("created", statement.rows([saga], None))
    row = saga_queue_row(saga.pk)
    if row is not None:
        statement.enqueue(row, "created")
    final = "SELECT (SELECT count(*) FROM woke)" if row is not None and notifying() else "SELECT 1"
    if statement.connection.in_atomic_block:
        with transaction.atomic(using="default"):  # a savepoint: a taken key leaves the outer transaction usable
            statement.run(final)
    else:
        statement.run(final)
    saga._state.adding = False
    saga._state.db = "default"
    if row is None:
        enqueue_saga(saga.pk)  # another broker: sent once the saga is committed
