"""Business refusals of the inventory service."""

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
