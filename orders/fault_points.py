"""The orders service's fault points: where an operator may make its operations misbehave on purpose.

Each operation in `orders.services` passes its point before and after its effect
(`sagas.participant.faults.inject`); OrdersConfig.ready() registers them, so the admin's fault
rules offer them and the engine names no operation of this service.
"""

from enum import StrEnum


class OrderFault(StrEnum):
    ORDER_CREATE = "orders.order_create"
    ORDER_CANCEL = "orders.order_cancel"
    ORDER_APPROVE = "orders.order_approve"
    ORDER_MARK_CANCELLING = "orders.order_mark_cancelling"
    ORDER_UNMARK_CANCELLING = "orders.order_unmark_cancelling"
    ORDER_MARK_CANCELLED = "orders.order_mark_cancelled"
