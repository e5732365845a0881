from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments service")

    def ready(self) -> None:
        # The engine relays, purges and re-delivers this service's events, and shows its rows on a
        # saga's page, through what the service registers here (it never imports the service).
        from payments import saga_panel, selectors, services
        from payments.fault_points import PaymentFault
        from sagas.admin.participants import register_panel
        from sagas.choreography.flow import Outbox, register_outbox
        from sagas.participant.faults import register_fault_points

        register_outbox(
            Outbox(
                "payments",
                relay=services.outbox_relay,
                pending=selectors.outbox_pending,
                events=selectors.outbox_events,
                purge=services.outbox_purge,
            )
        )
        register_panel(_("Payments"), saga_panel.payment_rows)
        # The points its operations pass, where an operator may plant a fault rule.
        register_fault_points(*PaymentFault)
        # Its refusals and handlers' notes, stored in English, read in the reader's language.
        from payments import errors, handlers
        from sagas.participant.refusals import register_refusal_notes

        register_refusal_notes(*errors.REFUSAL_NOTES, *handlers.NOTES)
