"""The migrations that replace usernames by user keys: every row is kept, none lands on the wrong user."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from orders.models import Order
from payments.models import CustomerAccount

# (alias, app, the migration before the rewrite, the rewrite)
STEPS = [
    ("orders", "orders", "0002_outbox_inbox", "0003_customer_is_user_key"),
    ("payments", "payments", "0002_outbox_inbox", "0003_customer_is_user_key"),
    ("default", "sagas", "0005_checkpoint_friendly_indexes", "0006_customer_is_user_key"),
]


def migrate(alias: str, target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connections[alias])
    executor.loader.build_graph()
    executor.migrate([target])


def migrate_to_latest(alias: str, app: str) -> None:
    """Back to the newest schema, so that the tests after this one find the tables the models expect."""
    executor = MigrationExecutor(connections[alias])
    executor.migrate([key for key in executor.loader.graph.leaf_nodes() if key[0] == app])


def sagas_at(migration: str):
    """The saga model as it was at `migration` (the column was still `customer` then)."""
    executor = MigrationExecutor(connections["default"])
    return executor.loader.project_state(("sagas", migration)).apps.get_model("sagas", "SagaInstance")


def insert_old_rows(names: list[str]) -> None:
    """Rows as the previous schema wrote them: the username in the customer column and the saga input."""
    with connections["orders"].cursor() as cursor:
        for name in names:
            cursor.execute(
                "INSERT INTO orders_order (id, key, customer, status, total, cancel_reason, created_at, updated_at)"
                " VALUES (%s, %s, %s, 'PENDING', 1, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                [uuid.uuid4().hex, f"old-{name}", name],
            )
    with connections["payments"].cursor() as cursor:
        for name in names:
            cursor.execute(
                "INSERT INTO payments_customeraccount (customer, balance, created_at)"
                " VALUES (%s, 10, CURRENT_TIMESTAMP)",
                [name],
            )
    with connections["default"].cursor() as cursor:
        for name in names:
            context = json.dumps({"input": {"customer": name, "sku": "WIDGET-1"}, "results": {}})
            cursor.execute(
                "INSERT INTO sagas_sagainstance (id, definition_name, definition_version, style, status, direction,"
                " step_index, current_step, attempt, context, customer, lease_owner, version, paused, last_error,"
                " resolved_by, created_at, updated_at) VALUES (%s, 'order', 1, 'orchestration', 'FAILED', 'FORWARD',"
                " 0, '', 0, %s, %s, '', 0, FALSE, '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                [uuid.uuid4().hex, context, name],
            )


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_usernames_become_user_keys_and_a_gone_users_rows_are_kept_under_a_marker():
    users = get_user_model().objects
    alice = users.create_user("alice")
    # A username may be digits: user "0"'s rows take the key that is the next user's old name.
    zero = users.create_user("0")
    digits = users.create_user(str(zero.pk))
    try:
        for alias, app, before, _ in STEPS:
            migrate(alias, (app, before))
        insert_old_rows(["alice", "0", digits.username, "gone"])
        for alias, app, _, rewrite in STEPS:
            migrate(alias, (app, rewrite))

        expected = {
            "alice": str(alice.pk),
            "0": str(zero.pk),
            digits.username: str(digits.pk),
            "gone": "deleted:gone",
        }
        orders = dict(Order.objects.using("orders").values_list("key", "customer"))
        assert orders == {f"old-{name}": key for name, key in expected.items()}
        accounts = set(CustomerAccount.objects.using("payments").values_list("customer", flat=True))
        assert accounts == set(expected.values())
        old_sagas = sagas_at("0006_customer_is_user_key").objects.all()
        sagas = {(saga.customer, saga.context["input"]["customer"]) for saga in old_sagas}
        assert sagas == {(key, key) for key in expected.values()}
    finally:
        for alias, app, _, _ in STEPS:
            migrate_to_latest(alias, app)


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_undoing_the_migration_gives_the_usernames_back():
    get_user_model().objects.create_user("bob")
    try:
        for alias, app, before, _ in STEPS:
            migrate(alias, (app, before))
        insert_old_rows(["bob", "gone"])
        for alias, app, before, rewrite in STEPS:
            migrate(alias, (app, rewrite))
            migrate(alias, (app, before))
        with connections["payments"].cursor() as cursor:
            cursor.execute("SELECT customer FROM payments_customeraccount ORDER BY customer")
            assert [row[0] for row in cursor.fetchall()] == ["bob", "gone"]
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT customer FROM sagas_sagainstance ORDER BY customer")
            assert [row[0] for row in cursor.fetchall()] == ["bob", "gone"]
    finally:
        for alias, app, _, _ in STEPS:
            migrate_to_latest(alias, app)
