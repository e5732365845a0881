"""Input and output shapes of the order API."""

import uuid

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from orders.api.selectors import ORDER_STATUSES
from orders.cancellation import CancelPath, RefusalCode
from orders.forms import CANCEL_REASON_MAX_LENGTH
from orders.placement import MAX_ORDER_QUANTITY
from sagas.api.idempotency import KEY_MAX_LENGTH
from sagas.api.toolkit.customers import CustomerNameField, CustomerNamesList
from sagas.api.toolkit.fields import RequiredText
from sagas.models import Direction, SagaStatus, SagaStyle, StepStatus
from sagas.participant.parsing import InvalidNumber, parse_whole_number


class WholeNumberField(serializers.IntegerField):
    """An integer that refuses true/false, fractions and non-ASCII digits instead of quietly converting them."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        if isinstance(data, str):
            # int() reads full-width "12" as 12 and fails on "²": text goes through the one strict parse.
            try:
                data = parse_whole_number(data)
            except InvalidNumber:
                self.fail("invalid")
        return super().to_internal_value(data)


class OrderPlaceInput(serializers.Serializer):
    sku = RequiredText(label=_("SKU"), max_length=64, help_text=_("The product's SKU, e.g. WIDGET-1."))
    quantity = WholeNumberField(label=_("Quantity"), min_value=1, max_value=MAX_ORDER_QUANTITY)
    style = serializers.ChoiceField(
        label=_("Style"),
        choices=SagaStyle.choices,
        required=False,
        help_text=_("How the saga runs; the server's default when left out."),
    )


class OrderPlaceFormInput(OrderPlaceInput):
    """The browsable API's order form: a browser form cannot send the Idempotency-Key header, so the
    form carries the key as a field, filled with a fresh one each time the form is drawn."""

    idempotency_key = serializers.CharField(
        label=_("Idempotency-Key"),
        initial=lambda: str(uuid.uuid4()),
        required=False,
        max_length=KEY_MAX_LENGTH,
        help_text=_(
            "In this form only; API clients send it as the Idempotency-Key header. Submitting the form again "
            "with the same key returns the first answer instead of placing a second order."
        ),
    )


class OrderStepOutput(serializers.Serializer):
    step_name = serializers.CharField()
    direction = serializers.ChoiceField(choices=Direction.choices)
    status = serializers.ChoiceField(choices=StepStatus.choices)
    attempt = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class OrderSagaOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=SagaStatus.choices)
    style = serializers.ChoiceField(choices=SagaStyle.choices)
    current_step = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)


class OrderSagaDetailOutput(OrderSagaOutput):
    steps = OrderStepOutput(many=True, source="steps.all")


class OrderOutput(serializers.Serializer):
    class Meta:
        list_serializer_class = CustomerNamesList

    id = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=ORDER_STATUSES, help_text=_("PLACING until the saga's first step has created the order.")
    )
    customer = CustomerNameField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    cancel_reason = serializers.CharField(help_text=_("Why the order was cancelled, in plain words."))
    created_at = serializers.DateTimeField()
    saga = OrderSagaOutput()


class OrderDetailOutput(OrderOutput):
    saga = OrderSagaDetailOutput()
    cancellation = OrderSagaDetailOutput(
        allow_null=True, help_text=_("The saga cancelling the confirmed order; null until the customer cancels it.")
    )


# Named in the schema by SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (CancelPathEnum, CancelRefusalCodeEnum).
CANCEL_PATHS = [(path.value, path.value) for path in CancelPath]
REFUSAL_CODES = [(code.value, code.value) for code in RefusalCode]


class OrderCancelInput(serializers.Serializer):
    reason = serializers.CharField(
        label=_("Reason"),
        required=False,
        allow_blank=True,
        max_length=CANCEL_REASON_MAX_LENGTH,
        help_text=_("Why the customer cancels, in their words; optional."),
    )


class OrderCancelFormInput(OrderCancelInput):
    """The browsable API's cancel form, with the key as a field (see OrderPlaceFormInput)."""

    idempotency_key = serializers.CharField(
        label=_("Idempotency-Key"),
        initial=lambda: str(uuid.uuid4()),
        required=False,
        max_length=KEY_MAX_LENGTH,
        help_text=_(
            "In this form only; API clients send it as the Idempotency-Key header. Submitting the form again "
            "with the same key returns the first answer instead of cancelling twice."
        ),
    )


class StockBackOutput(serializers.Serializer):
    product = serializers.CharField(help_text=_("The product's name."))
    quantity = serializers.IntegerField()


class CancellationPlanOutput(serializers.Serializer):
    order_id = serializers.UUIDField()
    possible = serializers.BooleanField(help_text=_("Whether a cancel would be accepted now."))
    path = serializers.ChoiceField(
        choices=CANCEL_PATHS,
        allow_null=True,
        help_text=_(
            "How a cancel would run: stop_placement (the placement saga stops and undoes its steps) or "
            "cancellation (a cancellation saga refunds and returns the stock); null when refused."
        ),
    )
    code = serializers.ChoiceField(
        choices=REFUSAL_CODES,
        allow_null=True,
        help_text=_("Why a cancel would be refused, for machines; null when it is possible."),
    )
    detail = serializers.CharField(allow_blank=True, help_text=_("Why a cancel would be refused, for people."))
    refund = serializers.DecimalField(max_digits=14, decimal_places=2, help_text=_("Money that goes back."))
    stock_back = StockBackOutput(many=True, help_text=_("What goes back in stock."))
    deadline = serializers.DateTimeField(
        allow_null=True, help_text=_("The end of the cancellation window, for a confirmed order.")
    )


class CancellationLinksOutput(serializers.Serializer):
    order = serializers.URLField(help_text=_("The order, with its placement saga."))
    cancellation = serializers.URLField(help_text=_("What a cancel of the order would do now."))


class CancellationStartedOutput(serializers.Serializer):
    order_id = serializers.UUIDField()
    path = serializers.ChoiceField(choices=CANCEL_PATHS)
    created = serializers.BooleanField(
        help_text=_("False when the same cancel was already under way: no second saga was started.")
    )
    saga = OrderSagaOutput(help_text=_("The saga doing the work: the placement saga, or the cancellation saga."))
    links = CancellationLinksOutput()


class CancellationRefusalOutput(serializers.Serializer):
    detail = serializers.CharField(help_text=_("Why, in the customer's language."))
    code = serializers.ChoiceField(
        choices=REFUSAL_CODES,
        required=False,
        help_text=_("Why, for machines (English); absent when the conflict is an Idempotency-Key in flight."),
    )
