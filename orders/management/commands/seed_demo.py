"""Create the demo products, customers and logins; running it again changes nothing.

The customers' password is published in the README, so with DEBUG off the command refuses to
give it to anyone unless told --allow-demo-passwords (a public demonstration) or --no-users.
"""

import os
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from inventory import services as inventory
from orders.management.help import TranslatedHelp
from payments import services as payments
from sagas.participant.customers import customer_key

PRODUCTS = [
    ("WIDGET-1", "Widget", Decimal("25.00"), 100),
    ("GADGET-1", "Gadget", Decimal("120.00"), 20),
    ("GIZMO-1", "Gizmo", Decimal("9.50"), 500),
    ("DOOHICKEY-1", "Doohickey", Decimal("480.00"), 5),
    ("RARE-1", "Rare collectible", Decimal("999.00"), 1),
]
CUSTOMERS = [("alice", Decimal("1000.00")), ("bob", Decimal("250.00")), ("carol", Decimal("50.00"))]
DEMO_PASSWORD = "demo-pass-123"


class Command(TranslatedHelp, BaseCommand):
    # The English stands as the class's help; --help says it in the language active then.
    help = gettext_noop(
        "Create the demo products, customers and logins; running it again changes nothing. The customers' "
        "password is published in the README, so with DEBUG off the command refuses to give it to anyone "
        "unless told --allow-demo-passwords (a public demonstration) or --no-users."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-users", action="store_true", help=gettext_lazy("Do not create login accounts."))
        parser.add_argument(
            "--allow-demo-passwords",
            action="store_true",
            help=gettext_lazy("With DEBUG off, give the demo customers the published demo password all the same."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["no_users"] and not options["allow_demo_passwords"]:
            # Refused before anything is written: a half-seeded production database helps nobody.
            raise CommandError(
                gettext(
                    "DEBUG is off, so this looks like a real site, and the demo customers' password "
                    "(%(password)s) is published in the README: anyone could log in as them. Run with "
                    "--no-users for the demo data without logins, or --allow-demo-passwords if this site "
                    "is a public demonstration."
                )
                % {"password": DEMO_PASSWORD}
            )
        for sku, name, price, stock in PRODUCTS:
            product = inventory.product_register(sku, name, price, stock)
            self.stdout.write(
                gettext("product %(sku)s: %(price)s, %(stock)s on hand")
                % {"sku": product.sku, "price": product.unit_price, "stock": product.stock_on_hand}
            )
        users = get_user_model()
        for customer, deposit in CUSTOMERS:
            # An account belongs to a user's id, so the user comes first; until given a login
            # (below), it has no password anyone can type.
            user = users.objects.filter(username=customer).first() or users.objects.create_user(customer, password=None)
            account = payments.account_open(customer_key(user), deposit)
            self.stdout.write(
                gettext("customer %(customer)s: balance %(balance)s")
                % {"customer": customer, "balance": account.balance}
            )
        if options["no_users"]:
            return
        for customer, _ in CUSTOMERS:
            user = users.objects.get(username=customer)
            if not user.has_usable_password():
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
        self.stdout.write(
            gettext("customers log in with their name and the password %(password)r") % {"password": DEMO_PASSWORD}
        )
        if settings.DEBUG:
            password = os.environ.get("DEMO_ADMIN_PASSWORD", "admin-pass-123")
            if not users.objects.filter(username="admin").exists():
                users.objects.create_superuser("admin", "admin@example.com", password)
                self.stdout.write(
                    self.style.WARNING(
                        gettext("development admin login: admin / %(password)s") % {"password": password}
                    )
                )
            else:
                self.stdout.write(gettext("development admin login: admin (already exists)"))
