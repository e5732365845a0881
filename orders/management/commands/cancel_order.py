"""Cancel an order for its customer: stop its placement, or start its cancellation saga."""

import argparse
import re
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from orders.cancellation import CancellationRefused, CancelPath, cancellation_request, order_customer
from orders.management.help import TranslatedHelp
from sagas.participant.customers import UnknownCustomer, customer_key_for_username

# Only the ASCII hex digits, in the usual 8-4-4-4-12 groups or as 32 in a row: uuid.UUID alone also
# takes braces, a "urn:uuid:" prefix and other scripts' digits.
_ORDER_ID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def order_id(text: str) -> uuid.UUID:
    """An argparse `type` for an order id: a UUID in ASCII hex digits."""
    if not _ORDER_ID.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(_("Enter an order id: a UUID such as 3f2b8c1e-0d4a-4b6e-9a51-2c7d8e9f0a1b."))
    return uuid.UUID(text.strip())


order_id.__name__ = "order id"  # argparse names the type when it refuses a value


class Command(TranslatedHelp, BaseCommand):
    # The English stands as the class's help; --help says it in the language active then.
    help = gettext_noop("Cancel an order for its customer: stop its placement, or start its cancellation saga.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("order_id", type=order_id, help=gettext_lazy("The order's id (a UUID)."))
        parser.add_argument(
            "--customer",
            default=None,
            help=gettext_lazy("The customer's username; the order must be theirs (default: whoever placed it)."),
        )
        parser.add_argument("--reason", default="", help=gettext_lazy("Why, for the audit record and the order."))

    def handle(self, *args: Any, **options: Any) -> None:
        order = options["order_id"]
        if options["customer"]:
            try:
                customer = customer_key_for_username(options["customer"])
            except UnknownCustomer as exc:
                raise CommandError(f"customer: {exc}") from None
        else:
            customer = order_customer(order) or ""
        try:
            started = cancellation_request(
                order, customer=customer, actor="manage.py cancel_order", reason=options["reason"]
            )
        except CancellationRefused as refusal:
            # The sentence for the reader, then the code a script may match on.
            raise CommandError(
                _("%(message)s (%(code)s)") % {"message": refusal.message, "code": refusal.code}
            ) from None
        if started.path == CancelPath.STOP_PLACEMENT:
            said = _("order %(order)s: its placement saga %(saga)s stops and undoes what it did")
        elif started.created:
            said = _("order %(order)s: cancellation saga %(saga)s started")
        else:
            said = _("order %(order)s: cancellation saga %(saga)s was already under way")
        self.stdout.write(said % {"order": order, "saga": started.saga.pk})
        self.stdout.write(_("follow it with: manage.py saga_status %(saga)s") % {"saga": started.saga.pk})
