"""An order's customer becomes the user's id: a new user who takes a deleted user's name must not
inherit their orders. Orders whose user is gone keep the name behind `deleted:`."""

from django.db import migrations, models

from sagas.participant import customers


def usernames_to_keys(apps, schema_editor):
    orders = apps.get_model("orders", "Order").objects.using(schema_editor.connection.alias)
    names = orders.values_list("customer", flat=True).distinct()
    if not names.exists():
        return  # also a fresh database whose `default` alias may not be migrated yet
    # The users live on `default`: no foreign key crosses aliases, a read does.
    users = apps.get_model("auth", "User").objects.using("default")
    customers.rewrite_column(orders, customers.username_keys(names, users))


def keys_to_usernames(apps, schema_editor):
    orders = apps.get_model("orders", "Order").objects.using(schema_editor.connection.alias)
    names = orders.values_list("customer", flat=True).distinct()
    if not names.exists():
        return
    users = apps.get_model("auth", "User").objects.using("default")
    customers.rewrite_column(orders, customers.key_usernames(names, users))


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("orders", "0002_outbox_inbox"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="customer",
            field=models.CharField(db_index=True, help_text="The customer's key: their user id.", max_length=160),
        ),
        migrations.RunPython(usernames_to_keys, keys_to_usernames),
    ]
