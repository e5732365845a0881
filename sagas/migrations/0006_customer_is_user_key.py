"""A saga's customer becomes the user's id, in the column and in the input of every saga that may
still run (in progress, or FAILED and so open to a retry), which its steps pass to the services.
Sagas whose user is gone keep the name behind `deleted:`."""

from django.db import migrations, models

from sagas.participant import customers

MAY_RUN_AGAIN = ("PENDING", "RUNNING", "COMPENSATING", "FAILED")


def _rewrite(apps, schema_editor, mapping_of):
    sagas = apps.get_model("sagas", "SagaInstance").objects.using(schema_editor.connection.alias)
    names = sagas.exclude(customer="").values_list("customer", flat=True).distinct()
    if not names.exists():
        return
    mapping = mapping_of(names, apps.get_model("auth", "User").objects.using("default"))
    customers.rewrite_column(sagas, mapping)
    for new in set(mapping.values()):
        old_values = {old for old, value in mapping.items() if value == new}
        for saga in sagas.filter(customer=new, status__in=MAY_RUN_AGAIN).only("id", "context").iterator():
            saga_input = (saga.context or {}).get("input")
            if isinstance(saga_input, dict) and saga_input.get("customer") in old_values:
                saga.context = {**saga.context, "input": {**saga_input, "customer": new}}
                saga.save(update_fields=["context"])


def usernames_to_keys(apps, schema_editor):
    _rewrite(apps, schema_editor, customers.username_keys)


def keys_to_usernames(apps, schema_editor):
    _rewrite(apps, schema_editor, customers.key_usernames)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("sagas", "0005_checkpoint_friendly_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="sagainstance",
            name="customer",
            field=models.CharField(
                blank=True, default="", help_text="The customer's key: their user id.", max_length=160
            ),
        ),
        migrations.RunPython(usernames_to_keys, keys_to_usernames),
    ]
