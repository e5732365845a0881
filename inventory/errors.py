"""Business refusals of the inventory service."""

from django.utils.translation import gettext_noop

from sagas.participant.refusals import BusinessRefusal


class ProductNotFound(BusinessRefusal):
    """No product has that SKU."""

    code = "product_not_found"


class ProductInactive(BusinessRefusal):
    """The product is not for sale."""

    code = "product_inactive"


class OutOfStock(BusinessRefusal):
    """Not enough stock on hand."""

    code = "out_of_stock"


class ReservationNotFound(BusinessRefusal):
    """No reservation was made under that key."""

    code = "reservation_not_found"


# The refusals inventory/services.py raises, as stored in English in a saga's log: registered
# by InventoryConfig.ready() so the console and the shop show them in the reader's language.
REFUSAL_NOTES = (
    gettext_noop("No product with SKU %(sku)s."),
    gettext_noop("%(sku)s is not for sale."),
    gettext_noop("Only %(stock)s of %(sku)s in stock, %(asked)s asked."),
    gettext_noop("No active reservation under %(key)s."),
    gettext_noop("No stock was committed to order %(order)s."),
)
