"""Install the recovery sweep as a django-q2 schedule running every minute (see sagas.engine.schedules)."""

from django.db import migrations, router

from sagas.engine.schedules import RECOVERY_SCHEDULE_NAME, install_recovery_schedule


def install_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    alias = schema_editor.connection.alias
    if router.allow_migrate_model(alias, Schedule):  # django_q's tables live on `default` only
        install_recovery_schedule(Schedule, using=alias)


def remove_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    alias = schema_editor.connection.alias
    if router.allow_migrate_model(alias, Schedule):
        Schedule.objects.using(alias).filter(name=RECOVERY_SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0002_api_idempotent_requests"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(install_schedule, remove_schedule)]
