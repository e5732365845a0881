"""Place an order for a customer; it runs as a saga in the worker cluster."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from orders.management.help import TranslatedHelp
from orders.placement import order_place
from sagas.errors import InvalidSagaRequest
from sagas.participant.customers import UnknownCustomer, customer_key_for_username


class Command(TranslatedHelp, BaseCommand):
    # The English stands as the class's help; --help says it in the language active then.
    help = gettext_noop("Place an order for a customer; it runs as a saga in the worker cluster.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--customer", required=True, help=gettext_lazy("The customer's username, e.g. alice."))
        parser.add_argument("--sku", required=True, help=gettext_lazy("Product SKU, e.g. WIDGET-1."))
        parser.add_argument(
            "--quantity", required=True, help=gettext_lazy("A whole number from 1 to 1000, in the digits 0-9.")
        )
        parser.add_argument(
            "--style",
            choices=["orchestration", "choreography"],
            default=None,
            help=gettext_lazy("Saga style (default: the SAGA_DEFAULT_STYLE setting)."),
        )
        parser.add_argument(
            "--idempotency-key",
            default=None,
            help=gettext_lazy("Placing again with the same key returns the first saga."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            customer = customer_key_for_username(options["customer"])
        except UnknownCustomer as exc:
            raise CommandError(f"customer: {exc}") from None
        try:
            saga, created = order_place(
                customer=customer,
                sku=options["sku"],
                quantity=options["quantity"],
                style=options["style"],
                idempotency_key=options["idempotency_key"],
            )
        except InvalidSagaRequest as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from None
        said = _("saga %(saga)s started") if created else _("saga %(saga)s already exists (same idempotency key)")
        self.stdout.write(said % {"saga": saga.id})
        self.stdout.write(_("order %(order)s") % {"order": saga.business_key})
        self.stdout.write(_("follow it with: manage.py saga_status %(saga)s") % {"saga": saga.id})
