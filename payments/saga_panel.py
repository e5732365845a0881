"""The payments behind a saga on its admin page (registered with the engine's Participants panel)."""

from typing import Any

from payments import selectors
from sagas.admin.participants import admin_url
from sagas.models import SagaInstance
from sagas.participant.customers import customer_name


def payment_rows(saga: SagaInstance) -> list[dict[str, Any]]:
    """The payments of the saga's order, each with its amount, payer and admin link."""
    return [
        {
            "label": f"Payment #{payment.pk}",
            "status": payment.status,
            "detail": f"{payment.amount} from {customer_name(payment.account.customer)}",
            "url": admin_url("payments", "payment", payment.pk),
        }
        for payment in selectors.payments_for_order(str(saga.business_key))
    ]
