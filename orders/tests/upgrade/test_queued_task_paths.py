"""An upgrade with tasks still queued under the old module paths loses none of them."""

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from orders import bench as order_bench
from sagas import tasks
from sagas.participant import eventbus

BEFORE = ("sagas", "0008_idempotent_request_created_index")
REWRITE = ("sagas", "0009_queued_task_paths")


def migrate(target: tuple[str, str] | None = None) -> None:
    """Migrate the sagas app to `target`, or to its latest migration."""
    executor = MigrationExecutor(connections["default"])
    executor.loader.build_graph()
    executor.migrate([target or executor.loader.graph.leaf_nodes("sagas")[0]])


def queued() -> list[dict]:
    return [SignedPackage.loads(row.payload) for row in OrmQ.objects.using("default").order_by("pk")]


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_tasks_queued_under_old_paths_name_the_entry_points_in_sagas_tasks_after_the_upgrade():
    migrate(BEFORE)
    try:
        event = {"event_id": "e-1", "type": "OrderPlaced", "saga_id": "s-1", "data": {"sku": "WIDGET-1"}}
        # What the previous release queued: a delivery, a retry of one subscriber, the sweep, a benchmark
        # order; and a saga run, whose path never moved.
        eventbus.enqueue_task("sagas.delivery.deliver_event", (event, ["sagas.monitor"]))
        eventbus.enqueue_task("sagas.delivery.deliver", ("payments.charge", event, 2))
        eventbus.enqueue_task("sagas.choreography_sweep.sweep_task", ())
        eventbus.enqueue_task("sagas.tasks.run_saga", ("s-1",))
        eventbus.enqueue_task("sagas.benchmark.baseline_order", ({"order_id": "o-1"},))
    finally:
        migrate(REWRITE)

    rows = queued()
    assert [row["func"] for row in rows] == [
        "sagas.tasks.deliver_event",
        "sagas.tasks.deliver",
        "sagas.tasks.choreography_sweep",
        "sagas.tasks.run_saga",
        "sagas.bench.run.baseline_order",
    ]
    assert [row["args"] for row in rows] == [
        (event, ["sagas.monitor"]),
        ("payments.charge", event, 2),
        (),
        ("s-1",),
        ({"order_id": "o-1"},),
    ]

    # Through every later migration too (the baseline moved again, to the order app),
    # a worker resolves each path to a function that exists.
    migrate()
    rows = queued()
    assert [import_string(row["func"]) for row in rows] == [
        tasks.deliver_event,
        tasks.deliver,
        tasks.choreography_sweep,
        tasks.run_saga,
        order_bench.baseline_order,
    ]
