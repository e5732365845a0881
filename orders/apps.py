from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders service"

    def ready(self) -> None:
        # The order saga belongs to this service: registering it here puts it in the engine's registry.
        from orders import saga  # noqa: F401
