"""The order on a saga's admin page: its row in the Participants panel, and the link its key opens.

Both are registered with the engine's admin by OrdersConfig.ready().
"""

from typing import Any

from django.utils.translation import gettext as _

from orders import selectors
from sagas.admin.participants import admin_url
from sagas.models import SagaInstance
from sagas.participant.money import format_money


def order_rows(saga: SagaInstance) -> list[dict[str, Any]]:
    """The order the saga places, with its lines, total and admin link."""
    found = selectors.order_get(str(saga.business_key))
    if found is None:
        return []
    lines = ", ".join(str(line) for line in found.lines.all())
    return [
        {
            "label": _("Order %(id)s") % {"id": found.pk},
            "status": found.get_status_display(),
            "detail": _("%(lines)s; total %(total)s") % {"lines": lines, "total": format_money(found.total)},
            "url": admin_url("orders", "order", found.pk),
        }
    ]


def order_url(order_id: Any) -> str:
    """The order's admin page: where the order saga's business key links (no query)."""
    return admin_url("orders", "order", order_id)
