from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory service")

    def ready(self) -> None:
        # The engine relays, purges and re-delivers this service's events, and shows its rows on a
        # saga's page, through what the service registers here (it never imports the service).
        from inventory import saga_panel, selectors, services
        from inventory.fault_points import InventoryFault
        from sagas.admin.participants import register_panel
        from sagas.choreography.flow import Outbox, register_outbox
        from sagas.participant.faults import register_fault_points

        register_outbox(
            Outbox(
                "inventory",
                relay=services.outbox_relay,
                pending=selectors.outbox_pending,
                events=selectors.outbox_events,
                purge=services.outbox_purge,
            )
        )
        register_panel(_("Inventory"), saga_panel.reservation_rows)
        # The points its operations pass, where an operator may plant a fault rule.
        register_fault_points(*InventoryFault)
        # Its refusals and handlers' notes, stored in English, read in the reader's language.
        from inventory import errors, handlers
        from sagas.participant.refusals import register_refusal_notes

        register_refusal_notes(*errors.REFUSAL_NOTES, *handlers.NOTES)
