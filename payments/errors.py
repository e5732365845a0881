"""Business refusals of the payments service."""

from django.utils.translation import gettext_noop

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


# The refusals payments/services.py raises, as stored in English in a saga's log: registered
# by PaymentsConfig.ready() so the console and the shop show them in the reader's language.
REFUSAL_NOTES = (
    gettext_noop("No account for %(customer)s."),
    gettext_noop("Insufficient funds: %(asked)s asked, %(available)s available."),
    gettext_noop("No payment was taken for order %(order)s."),
)
