"""Queued tasks name their function by dotted path: point those of moved functions at sagas.tasks.

A deployment upgraded while tasks wait in django-q2's queue would otherwise hand its workers a
path that no longer exists, and lose those tasks. The payloads are signed pickles.
"""

from django.db import migrations, router
from django_q.signing import BadSignature, SignedPackage

# The old path of every queued function that moved, and where it lives now.
MOVED = {
    "sagas.delivery.deliver_event": "sagas.tasks.deliver_event",
    "sagas.delivery.deliver": "sagas.tasks.deliver",
    "sagas.choreography_sweep.sweep_task": "sagas.tasks.choreography_sweep",
    "sagas.benchmark.baseline_order": "sagas.bench.run.baseline_order",
}


def rewrite_queued(apps, schema_editor, moves):
    OrmQ = apps.get_model("django_q", "OrmQ")
    alias = schema_editor.connection.alias
    if not router.allow_migrate_model(alias, OrmQ):  # django_q's tables live on `default` only
        return
    queue = OrmQ.objects.using(alias)
    for pk, payload in queue.values_list("pk", "payload").iterator():
        try:
            task = SignedPackage.loads(payload)
        except BadSignature:
            continue  # signed with another key: no worker of this deployment can read it either
        func = task.get("func") if isinstance(task, dict) else None
        if isinstance(func, str) and func in moves:
            task["func"] = moves[func]
            queue.filter(pk=pk).update(payload=SignedPackage.dumps(task))


def forwards(apps, schema_editor):
    rewrite_queued(apps, schema_editor, MOVED)


def backwards(apps, schema_editor):
    rewrite_queued(apps, schema_editor, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0008_idempotent_request_created_index"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
