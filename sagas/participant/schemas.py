"""Creates each PostgreSQL service schema before its alias is migrated."""

from typing import Any

from django.db import connections


def ensure_service_schema(using: str = "default", **kwargs: Any) -> None:
    """Create the alias's schema if its settings name one (PostgreSQL only)."""
    connection = connections[using]
    schema = connection.settings_dict.get("SCHEMA")
    if connection.vendor != "postgresql" or not schema:
        return
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
