"""A conditional UPDATE that also returns what the rest of an effect needs, in one statement.

A participant's effect often reads a row, then changes it under a condition (enough stock,
enough money, the right status). The condition alone is what keeps concurrent calls correct,
so the read only matters when the update matches nothing: then the caller reads to say why.
`update_returning` compiles the queryset's UPDATE with Django's own compiler and appends
RETURNING, so the common path is one statement instead of two. PostgreSQL and SQLite >= 3.35
both support it.
"""

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from django.db import NotSupportedError, connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.sql import UpdateQuery


def update_returning(queryset: QuerySet, returning_fields: Sequence[str], **values: Any) -> list[dict[str, Any]]:
    """Apply `values` to the rows of `queryset` and return `returning_fields` of each row changed.

    Like `queryset.update(**values)`, plus what `save()` does and `update()` does not: the
    model's auto_now fields (`updated_at`) are set to now unless `values` names them. Each
    returned value is converted as the ORM converts it when it loads a row (Decimal, UUID,
    aware datetimes). Field names may be attnames ("product_id"). An empty list means no row
    matched the queryset's conditions.
    """
    model: type[Model] = queryset.model
    alias = queryset.db
    connection = connections[alias]
    if not connection.features.can_return_columns_from_insert:
        raise NotSupportedError(f"{connection.display_name} cannot return rows from an UPDATE.")
    if queryset.query.is_sliced:
        raise TypeError("Cannot update a query once a slice has been taken.")
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False) and field.name not in values and field.attname not in values:
            values[field.name] = field.pre_save(SimpleNamespace(), add=False)
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    # As QuerySet.update does: annotations must not leak into the UPDATE's subqueries.
    query.annotations = {}
    statement, params = query.get_compiler(alias).as_sql()
    fields = [model._meta.get_field(name) for name in returning_fields]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(f"{statement} RETURNING {columns}", params)
        rows = cursor.fetchall()
    columns_read = [field.get_col(model._meta.db_table) for field in fields]
    converters = [
        connection.ops.get_db_converters(column) + column.get_db_converters(connection) for column in columns_read
    ]
    returned = []
    for row in rows:
        item = {}
        for name, value, column, column_converters in zip(returning_fields, row, columns_read, converters, strict=True):
            for converter in column_converters:
                value = converter(value, column, connection)
            item[name] = value
        returned.append(item)
    return returned
