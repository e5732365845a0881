from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy


class SagasConfig(AppConfig):
    name = "sagas"
    verbose_name = gettext_lazy("Sagas")

    def ready(self) -> None:
        from sagas.participant.schemas import ensure_service_schema

        pre_migrate.connect(ensure_service_schema, dispatch_uid="sagas.ensure_service_schema")
        # The choreography sweep's schedule lives on `default`, made once that alias is migrated.
        from sagas.choreography.sweep import install_schedule

        post_migrate.connect(install_schedule, sender=self, dispatch_uid="sagas.choreography_schedule")
        # Sagas defined outside an app register themselves on import, like an app's do in its ready().
        for module in settings.SAGA_DEFINITION_MODULES:
            import_module(module)
