"""The order form: parses what the customer typed; the rules themselves live in `order_place`."""

import re
import uuid
from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from inventory.models import Product
from orders.placement import MAX_ORDER_QUANTITY
from sagas.errors import InvalidSagaRequest
from sagas.models import SagaStyle
from sagas.participant.money import format_money

_TOKEN = re.compile(r"[0-9a-f]{32}")
# Which form field shows an error that `order_place` reports for one of its arguments.
_FIELD_FOR_ARGUMENT = {"sku": "sku", "quantity": "quantity", "style": "style"}
# The order keeps at most this much of why it was cancelled (Order.cancel_reason).
CANCEL_REASON_MAX_LENGTH = 200


def new_form_token() -> str:
    """A fresh one-time token: one rendered form places at most one order."""
    return uuid.uuid4().hex


class OrderForm(forms.Form):
    sku = forms.CharField(
        label=_("Product"), max_length=64, widget=forms.Select, error_messages={"required": _("Choose a product.")}
    )
    # Text, not an integer field: `order_place` says what is wrong with any input it gets.
    quantity = forms.CharField(
        label=_("Quantity"),
        max_length=20,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_ORDER_QUANTITY, "step": 1, "inputmode": "numeric"}),
        error_messages={"required": _("Enter how many you want.")},
    )
    style = forms.ChoiceField(
        label=_("How the order runs"),
        choices=SagaStyle.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Orchestration: one coordinator drives each step. Choreography: the services react to each other's events."
        ),
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, products: Iterable[Product] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sku"].widget.choices = [("", _("Choose a product"))] + [
            (
                product.sku,
                gettext("%(name)s — %(price)s (%(stock)s available)")
                % {"name": product.name, "price": format_money(product.unit_price), "stock": product.stock_on_hand},
            )
            for product in products
        ]
        self.fields["style"].initial = settings.SAGA_DEFAULT_STYLE
        self.fields["quantity"].initial = 1
        if not self.is_bound:
            self.initial.setdefault("token", new_form_token())

    def clean_token(self) -> str:
        token = self.cleaned_data.get("token", "")
        if not _TOKEN.fullmatch(token):
            raise forms.ValidationError(_("This form has expired. Check your order and submit it again."))
        return token

    def token_value(self) -> str:
        """The token to render: the submitted one while it is valid, else a fresh one."""
        token = self.data.get("token", "") if self.is_bound else self.initial["token"]
        return token if _TOKEN.fullmatch(str(token)) else new_form_token()

    def idempotency_key(self, user_pk: Any) -> str:
        """The key under which this submission places its order: the same for every repeat."""
        return f"web:{user_pk}:{self.cleaned_data['token']}"

    def refuse_for_rate(self, seconds: int) -> None:
        """Say above the form, which keeps what was typed, that this customer places orders too fast."""
        self.is_valid()
        self.add_error(
            None,
            ngettext(
                "You have placed too many orders in a short time. Try again in %(seconds)d second.",
                "You have placed too many orders in a short time. Try again in %(seconds)d seconds.",
                seconds,
            )
            % {"seconds": seconds},
        )

    def add_order_error(self, error: InvalidSagaRequest) -> None:
        """Show a refusal of `order_place` next to the field it concerns (or above the form)."""
        self.add_error(_FIELD_FOR_ARGUMENT.get(error.field), error.message)


class CancelOrderForm(forms.Form):
    """The confirmation of a cancel: an optional reason, and what the page promised when it was drawn.

    `promised` carries the plan the customer read (how the cancel runs and the refund); if the
    order moved on before they confirmed, the page is shown again with what a cancel does now.
    """

    reason = forms.CharField(
        label=_("Why are you cancelling? (optional)"),
        required=False,
        max_length=CANCEL_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    promised = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
