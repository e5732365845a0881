from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders service")

    def ready(self) -> None:
        # The order saga belongs to this service: registering it here puts it in the engine's registry.
        from orders import (
            choreography,
            saga,
            saga_panel,
            selectors,
            services,
        )
        from sagas.admin.business_keys import register_business_key_link
        from sagas.admin.participants import register_panel
        from sagas.choreography.flow import Outbox, register_flow, register_outbox

        # Its choreographed flow too; and, as a participant, its outbox and its rows on a saga's page.
        register_flow(choreography.ORDER_FLOW)
        register_outbox(
            Outbox(
                "orders",
                relay=services.outbox_relay,
                pending=selectors.outbox_pending,
                events=selectors.outbox_events,
                purge=services.outbox_purge,
            )
        )
        register_panel(_("Orders"), saga_panel.order_rows)
        # Both order sagas' business key is the order's id: the saga list and page link it there.
        from orders.cancellation_saga import NAME as CANCELLATION

        for name in (saga.ORDER_SAGA.name, CANCELLATION):
            register_business_key_link(name, saga_panel.order_url)
        # The points its operations pass, where an operator may plant a fault rule.
        from orders.fault_points import OrderFault
        from sagas.participant.faults import register_fault_points

        register_fault_points(*OrderFault)
        # Its refusals and handlers' notes, stored in English, read in the reader's language.
        from orders import errors, handlers
        from sagas.participant.refusals import register_refusal_notes

        register_refusal_notes(*errors.REFUSAL_NOTES, *handlers.NOTES)
        # What bench_admin fills the saga table with: order sagas and their participants' rows.
        # And what bench_sagas measures: placing orders, against the same calls as plain tasks.
        from orders.bench import ORDER_FILL, ORDER_RUN
        from sagas.bench.fill import register_fill_workload
        from sagas.bench.run import register_run_workload

        register_fill_workload(ORDER_FILL)
        register_run_workload(ORDER_RUN)

        # Its invariants too: check_consistency runs them with the engine's own.
        from orders.invariants import TITLES, order_violations
        from sagas.engine.invariants import register_invariants

        register_invariants(saga.ORDER_SAGA.name, TITLES, order_violations)

        # A user's saved language and time zone are read into their session as they log in.
        from django.contrib.auth.signals import user_logged_in

        from orders.preferences import remember_at_login

        user_logged_in.connect(remember_at_login, dispatch_uid="orders.preferences.remember_at_login")
