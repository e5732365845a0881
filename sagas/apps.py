from django.apps import AppConfig
from django.db.models.signals import pre_migrate


class SagasConfig(AppConfig):
    name = "sagas"
    verbose_name = "Sagas"

    def ready(self) -> None:
        from sagaproject.schemas import ensure_service_schema
        from sagas import order_saga  # noqa: F401  registers the order saga definition

        pre_migrate.connect(ensure_service_schema, dispatch_uid="sagas.ensure_service_schema")
