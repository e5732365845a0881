"""An upgrade with benchmark baseline tasks still queued under sagas.bench.run loses none of them."""

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from orders import bench as order_bench
from sagas import tasks
from sagas.participant import eventbus

BEFORE = ("sagas", "0010_generic_correlation_fields")
REWRITE = ("sagas", "0011_queued_bench_task_path")


def migrate(target: tuple[str, str] | None = None) -> None:
    """Migrate the sagas app to `target`, or to its latest migration."""
    executor = MigrationExecutor(connections["default"])
    executor.loader.build_graph()
    executor.migrate([target or executor.loader.graph.leaf_nodes("sagas")[0]])


def queued() -> list[dict]:
    return [SignedPackage.loads(row.payload) for row in OrmQ.objects.using("default").order_by("pk")]


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_baseline_task_queued_under_the_engine_path_runs_the_order_apps_baseline_after_the_upgrade():
    order = {"order_id": "o-1", "customer": "c-1", "sku": "WIDGET-1", "quantity": 1}
    migrate(BEFORE)
    try:
        # What the previous release queued: a benchmark baseline order, and a saga run whose path never moved.
        eventbus.enqueue_task("sagas.bench.run.baseline_order", (order,))
        eventbus.enqueue_task("sagas.tasks.run_saga", ("s-1",))
        migrate(REWRITE)

        rows = queued()
        assert [row["func"] for row in rows] == ["orders.bench.baseline_order", "sagas.tasks.run_saga"]
        assert [row["args"] for row in rows] == [(order,), ("s-1",)]
        # A worker resolves each path to a function that exists.
        assert [import_string(row["func"]) for row in rows] == [order_bench.baseline_order, tasks.run_saga]

        # Rolling the upgrade back puts the old path back, for the previous release's workers.
        migrate(BEFORE)
        assert [row["func"] for row in queued()] == ["sagas.bench.run.baseline_order", "sagas.tasks.run_saga"]
    finally:
        migrate()
