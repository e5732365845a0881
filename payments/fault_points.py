"""The payments service's fault points: where an operator may make its operations misbehave on purpose.

Each operation in `payments.services` passes its point before and after its effect
(`sagas.participant.faults.inject`); PaymentsConfig.ready() registers them, so the admin's fault
rules offer them and the engine names no operation of this service.
"""

from enum import StrEnum


class PaymentFault(StrEnum):
    PAYMENT_CHARGE = "payments.payment_charge"
    PAYMENT_REFUND = "payments.payment_refund"
    PAYMENT_REFUND_ORDER = "payments.payment_refund_order"
