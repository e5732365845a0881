"""The stock reservations behind a saga on its admin page (registered with the engine's Participants panel)."""

from typing import Any

from django.utils.translation import gettext as _

from inventory import selectors
from sagas.admin.participants import admin_url
from sagas.models import SagaInstance


def reservation_rows(saga: SagaInstance) -> list[dict[str, Any]]:
    """The reservations of the saga's order, each with its quantity, product and admin link."""
    return [
        {
            "label": _("Reservation #%(id)s") % {"id": reservation.pk},
            "status": reservation.get_status_display(),
            "detail": f"{reservation.quantity} \N{MULTIPLICATION SIGN} {reservation.product.sku}",
            "url": admin_url("inventory", "reservation", reservation.pk),
        }
        for reservation in selectors.reservations_for_order(str(saga.business_key))
    ]
