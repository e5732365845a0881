"""An account's customer becomes the user's id: a new user who takes a deleted user's name must not
inherit their balance. Accounts whose user is gone keep the name behind `deleted:`."""

from django.db import migrations, models

from sagas.participant import customers


def usernames_to_keys(apps, schema_editor):
    accounts = apps.get_model("payments", "CustomerAccount").objects.using(schema_editor.connection.alias)
    names = accounts.values_list("customer", flat=True)
    if not names.exists():
        return  # also a fresh database whose `default` alias may not be migrated yet
    # The users live on `default`: no foreign key crosses aliases, a read does.
    users = apps.get_model("auth", "User").objects.using("default")
    customers.rewrite_column(accounts, customers.username_keys(names, users))


def keys_to_usernames(apps, schema_editor):
    accounts = apps.get_model("payments", "CustomerAccount").objects.using(schema_editor.connection.alias)
    names = accounts.values_list("customer", flat=True)
    if not names.exists():
        return
    users = apps.get_model("auth", "User").objects.using("default")
    customers.rewrite_column(accounts, customers.key_usernames(names, users))


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("payments", "0002_outbox_inbox"),
    ]

    operations = [
        migrations.AlterField(
            model_name="customeraccount",
            name="customer",
            field=models.CharField(help_text="The customer's key: their user id.", max_length=160, unique=True),
        ),
        migrations.RunPython(usernames_to_keys, keys_to_usernames),
    ]
