"""The migration to generic correlation fields keeps every saga row and the indexes the lists need."""

import json
import uuid

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from sagas.models import SagaInstance

BEFORE = ("sagas", "0009_queued_task_paths")
RENAME = ("sagas", "0010_generic_correlation_fields")


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connections["default"])
    executor.loader.build_graph()
    executor.migrate([target])


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connections["default"])
    executor.migrate([key for key in executor.loader.graph.leaf_nodes() if key[0] == "sagas"])


def insert_old_row(order_id: uuid.UUID | None, customer: str) -> str:
    """A saga row as the previous schema wrote it, with `order_id` and `customer` columns."""
    saga_id = uuid.uuid4()
    context = json.dumps({"input": {"customer": customer}, "results": {}})
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "INSERT INTO sagas_sagainstance (id, definition_name, definition_version, style, status, direction,"
            " step_index, current_step, attempt, context, order_id, customer, lease_owner, version, paused,"
            " last_error, resolved_by, created_at, updated_at) VALUES (%s, 'order', 1, 'orchestration', 'FAILED',"
            " 'FORWARD', 0, '', 0, %s, %s, %s, '', 0, FALSE, '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            [saga_id.hex, context, order_id.hex if order_id else None, customer],
        )
    return str(saga_id)


def indexes_by_column() -> dict[str, set[str]]:
    """The single-column, non-unique indexes on the saga table: column -> index names."""
    connection = connections["default"]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, SagaInstance._meta.db_table)
    found: dict[str, set[str]] = {}
    for name, info in constraints.items():
        if info["index"] and not info["unique"] and not info["primary_key"] and len(info["columns"]) == 1:
            found.setdefault(info["columns"][0], set()).add(name)
    return found


@pytest.mark.django_db(databases=["default"], transaction=True)
def test_every_saga_keeps_its_order_as_business_key_and_its_customer_as_party():
    first, second = uuid.uuid4(), uuid.uuid4()
    try:
        migrate(BEFORE)
        rows = {
            insert_old_row(first, "17"): (first, "17"),
            insert_old_row(second, "deleted:gone"): (second, "deleted:gone"),
            insert_old_row(None, ""): (None, ""),
        }
        migrate(RENAME)

        kept = {
            str(pk): (key, party) for pk, key, party in SagaInstance.objects.values_list("pk", "business_key", "party")
        }
        assert kept == rows
        assert SagaInstance.objects.filter(business_key=first).get().party == "17"
        indexes = indexes_by_column()
        assert "saga_business_key" in indexes["business_key"]
        assert "saga_party" in indexes["party"]
        assert "order_id" not in indexes and "customer" not in indexes
    finally:
        migrate_to_latest()


@pytest.mark.django_db(databases=["default"], transaction=True)
def test_undoing_the_migration_gives_the_order_and_customer_columns_back_with_their_indexes():
    order_id = uuid.uuid4()
    try:
        migrate(BEFORE)
        insert_old_row(order_id, "42")
        migrate(RENAME)
        migrate(BEFORE)

        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT order_id, customer FROM sagas_sagainstance")
            [(stored_order, customer)] = cursor.fetchall()
        assert uuid.UUID(str(stored_order)) == order_id and customer == "42"
        indexes = indexes_by_column()
        assert indexes["order_id"] and "saga_customer" in indexes["customer"]
    finally:
        migrate_to_latest()
