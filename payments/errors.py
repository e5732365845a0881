"""Business refusals of the payments service."""

from sagas.participant.refusals import BusinessRefusal


class AccountNotFound(BusinessRefusal):
    """The customer has no account."""

    code = "account_not_found"


class InsufficientFunds(BusinessRefusal):
    """The balance does not cover the amount."""

    code = "insufficient_funds"


class PaymentNotFound(BusinessRefusal):
    """No payment was taken for that order."""

    code = "payment_not_found"
