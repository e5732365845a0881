"""Business refusals of the orders service."""

from django.utils.translation import gettext_noop

from sagas.participant.refusals import BusinessRefusal


class OrderNotFound(BusinessRefusal):
    """No order has that id."""

    code = "order_not_found"


class InvalidOrderTransition(BusinessRefusal):
    """The order's status does not allow that change."""

    code = "invalid_order_transition"


# The refusals orders/services.py raises, as stored in English in a saga's log (its values
# written into the same words): registered by OrdersConfig.ready() so the console and the shop
# show them in the reader's language.
REFUSAL_NOTES = (
    gettext_noop("No order %(order)s."),
    gettext_noop("Order %(order)s is %(status)s and cannot become %(to)s."),
)
