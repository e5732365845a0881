from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory service"

    def ready(self) -> None:
        # The engine relays, purges and re-delivers this service's events, and shows its rows on a
        # saga's page, through what the service registers here (it never imports the service).
        from inventory import saga_panel, selectors, services
        from sagas.admin.participants import register_panel
        from sagas.choreography.flow import Outbox, register_outbox

        register_outbox(
            Outbox(
                "inventory",
                relay=services.outbox_relay,
                pending=selectors.outbox_pending,
                events=selectors.outbox_events,
                purge=services.outbox_purge,
            )
        )
        register_panel("Inventory", saga_panel.reservation_rows)
