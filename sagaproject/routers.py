"""Puts each participant app on its own database alias and everything else on `default`."""

from typing import Any

SERVICE_APPS = {"orders": "orders", "payments": "payments", "inventory": "inventory"}


def alias_for_app(app_label: str) -> str:
    """The database alias that owns an app's tables."""
    return SERVICE_APPS.get(app_label, "default")


class ServiceRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        return alias_for_app(model._meta.app_label)

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return alias_for_app(model._meta.app_label)

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # No foreign key may cross a service boundary: ids are stored instead.
        return alias_for_app(obj1._meta.app_label) == alias_for_app(obj2._meta.app_label)

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return alias_for_app(app_label) == db
