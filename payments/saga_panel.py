"""The payments behind a saga on its admin page (registered with the engine's Participants panel)."""

from typing import Any

from django.utils.translation import gettext as _

from payments import selectors
from sagas.admin.participants import admin_url
from sagas.models import SagaInstance
from sagas.participant.customers import customer_name
from sagas.participant.money import format_money


def payment_rows(saga: SagaInstance) -> list[dict[str, Any]]:
    """The payments of the saga's order, each with its amount, payer and admin link."""
    return [
        {
            "label": _("Payment #%(id)s") % {"id": payment.pk},
            "status": payment.get_status_display(),
            "detail": _("%(amount)s from %(customer)s")
            % {"amount": format_money(payment.amount), "customer": customer_name(payment.account.customer)},
            "url": admin_url("payments", "payment", payment.pk),
        }
        for payment in selectors.payments_for_order(str(saga.business_key))
    ]
