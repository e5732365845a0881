"""A saga names the business object it acts on and who it belongs to, whatever its kind.

`order_id` becomes `business_key` and `customer` becomes `party`. Both are renames: every row
keeps its values and the columns keep their indexes, which only take generic names. The
business key's index was unnamed (`db_index=True`); it becomes the named index
`saga_business_key` by renaming the index the database already holds, so no index is rebuilt.
"""

from django.db import migrations, models

NEW_INDEX = "saga_business_key"


def _index_names(schema_editor, model, column: str) -> list[str]:
    """The single-column, non-unique indexes on `column` that the database holds."""
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
    ]


def _rename(schema_editor, model, old_name: str, new_name: str, field: str = "business_key") -> None:
    """Rename in place where the database can (PostgreSQL); SQLite drops and recreates the index."""
    schema_editor.rename_index(
        model,
        models.Index(fields=[field], name=old_name),
        models.Index(fields=[field], name=new_name),
    )


def name_the_party_index(apps, schema_editor):
    _rename(schema_editor, apps.get_model("sagas", "SagaInstance"), "saga_customer", "saga_party", "party")


def unname_the_party_index(apps, schema_editor):
    _rename(schema_editor, apps.get_model("sagas", "SagaInstance"), "saga_party", "saga_customer", "party")


def name_the_key_index(apps, schema_editor):
    model = apps.get_model("sagas", "SagaInstance")
    for name in _index_names(schema_editor, model, "business_key"):
        if name != NEW_INDEX:
            _rename(schema_editor, model, name, NEW_INDEX)
            return


def unname_the_key_index(apps, schema_editor):
    """Back to the name Django gives the index of `order_id = UUIDField(db_index=True)`."""
    model = apps.get_model("sagas", "SagaInstance")
    if NEW_INDEX in _index_names(schema_editor, model, "business_key"):
        old_name = schema_editor._create_index_name(model._meta.db_table, ["order_id"])
        _rename(schema_editor, model, NEW_INDEX, old_name)


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0009_queued_task_paths"),
    ]

    operations = [
        migrations.RenameField(model_name="sagainstance", old_name="order_id", new_name="business_key"),
        migrations.RenameField(model_name="sagainstance", old_name="customer", new_name="party"),
        # The index keeps its column; RenameIndex cannot be used here, since on SQLite it rebuilds
        # the index from a migration state that still names the old field.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="sagainstance", name="saga_customer"),
                migrations.AddIndex(model_name="sagainstance", index=models.Index(fields=["party"], name="saga_party")),
            ],
            database_operations=[
                migrations.RunPython(name_the_party_index, unname_the_party_index, elidable=False),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="sagainstance",
                    name="business_key",
                    field=models.UUIDField(
                        blank=True,
                        help_text="The id of the business object the saga acts on, such as an order.",
                        null=True,
                    ),
                ),
                migrations.AddIndex(
                    model_name="sagainstance",
                    index=models.Index(fields=["business_key"], name=NEW_INDEX),
                ),
            ],
            database_operations=[
                migrations.RunPython(name_the_key_index, unname_the_key_index, elidable=False),
            ],
        ),
        migrations.AlterField(
            model_name="sagainstance",
            name="party",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Who the saga belongs to: for an order, its customer's user id.",
                max_length=160,
            ),
        ),
    ]
