"""Queued benchmark baseline tasks follow their function from sagas.bench.run to orders.bench.

The baseline makes the order saga's participant calls, so it moved to the app that owns that
saga. A task the previous release queued under the old path would otherwise reach a worker
that cannot find it. 0009 holds the rewrite; this migration only names the new move.
"""

from importlib import import_module

from django.db import migrations

rewrite_queued = import_module("sagas.migrations.0009_queued_task_paths").rewrite_queued

# The old path of the queued function that moved, and where it lives now.
MOVED = {"sagas.bench.run.baseline_order": "orders.bench.baseline_order"}


def forwards(apps, schema_editor):
    rewrite_queued(apps, schema_editor, MOVED)


def backwards(apps, schema_editor):
    rewrite_queued(apps, schema_editor, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0010_generic_correlation_fields"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
