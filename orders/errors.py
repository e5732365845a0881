"""Business refusals of the orders service."""

from sagas.participant.refusals import BusinessRefusal


class OrderNotFound(BusinessRefusal):
    """No order has that id."""

    code = "order_not_found"


class InvalidOrderTransition(BusinessRefusal):
    """The order's status does not allow that change."""

    code = "invalid_order_transition"
