"""Fault points are the participants' to name: each registers its own, the admin offers those.

The toy booking stands in for a participant here: its steps pass the points `toy.<step>`.
"""

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from sagas.models import FaultRule
from sagas.participant import faults
from sagas.testing import toy
from sagas.tests.admin_support import staff_user
from sagas.tests.factories import FaultRuleFactory

TOY_POINTS = (toy.fault_point("book_units"), toy.fault_point("confirm_booking"))


@pytest.fixture
def toy_points():
    faults.register_fault_points(*TOY_POINTS)
    yield TOY_POINTS
    faults.unregister_fault_points(*TOY_POINTS)


# Logging in reads the user's saved language and time zone, which live on the orders database.
ADMIN_DATABASES = pytest.mark.django_db(databases=["default", "orders"])


@pytest.fixture
def root(client, db):
    client.force_login(staff_user("root", superuser=True))
    return client


def add_rule(client, operation: str):
    return client.post(
        reverse("admin:sagas_faultrule_add"),
        {"operation": operation, "phase": "before", "mode": "refuse", "probability": "1", "delay_seconds": "0"},
    )


@ADMIN_DATABASES
def test_the_admin_offers_each_registered_fault_point(root, toy_points):
    page = root.get(reverse("admin:sagas_faultrule_add")).content.decode()

    for point in toy_points:
        assert f'<option value="{point}">{point}</option>' in page


@ADMIN_DATABASES
def test_a_rule_on_a_registered_point_is_saved(root, toy_points):
    response = add_rule(root, toy.fault_point("book_units"))

    assert response.status_code == 302
    assert FaultRule.objects.get().operation == "toy.book_units"


@ADMIN_DATABASES
def test_a_rule_on_a_point_no_participant_registered_is_refused(root, toy_points):
    response = add_rule(root, "toy.no_such_step")

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not FaultRule.objects.exists()


@ADMIN_DATABASES
def test_a_rule_whose_point_is_no_longer_registered_still_shows_its_point(root):
    rule = FaultRuleFactory(operation="toy.retired_step", enabled=False)

    page = root.get(reverse("admin:sagas_faultrule_change", args=[rule.pk])).content.decode()

    assert 'value="toy.retired_step" selected>toy.retired_step (no longer registered)</option>' in page


def test_registering_a_point_again_is_harmless(toy_points):
    faults.register_fault_points(*toy_points)

    assert [point for point in faults.fault_points() if point.startswith("toy.")] == sorted(toy_points)


@pytest.mark.parametrize("name", ["", "x" * (faults.POINT_MAX_LENGTH + 1)])
def test_a_point_name_a_rule_cannot_hold_is_refused(name):
    with pytest.raises(ValueError, match="fault point is named by 1 to 64 characters"):
        faults.register_fault_points(name)


# --- the migration that took the order's operations out of the model -----------------------------

BEFORE = ("sagas", "0011_queued_bench_task_path")
AFTER = ("sagas", "0012_fault_points_registered")


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connections["default"])
    executor.loader.build_graph()
    executor.migrate([target])


def rules() -> list[tuple]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT operation, phase, mode, probability, enabled FROM sagas_faultrule ORDER BY operation")
        return cursor.fetchall()


@pytest.mark.django_db(databases=["default"], transaction=True)
def test_every_fault_rule_is_kept_across_the_migration_both_ways():
    try:
        migrate(BEFORE)
        with connections["default"].cursor() as cursor:
            for operation in ("inventory.stock_reserve", "toy.book_units"):
                cursor.execute(
                    "INSERT INTO sagas_faultrule (operation, phase, mode, probability, delay_seconds, message,"
                    " enabled, created_by, created_at, updated_at)"
                    " VALUES (%s, 'after', 'transient', 0.5, 0, '', TRUE, 'olga',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                    [operation],
                )
        before = rules()

        migrate(AFTER)
        assert rules() == before
        migrate(BEFORE)
        assert rules() == before
    finally:
        executor = MigrationExecutor(connections["default"])
        executor.migrate([key for key in executor.loader.graph.leaf_nodes() if key[0] == "sagas"])
    assert len(before) == 2
