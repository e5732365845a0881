"""Order API: place an order (idempotently), list your orders, read one with its saga, cancel one
(idempotently) and see what a cancel would do."""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from orders.api.selectors import order_sagas_visible_to, placed_order_get, placed_order_of, placed_orders_of
from orders.api.serializers import (
    CancellationPlanOutput,
    CancellationRefusalOutput,
    CancellationStartedOutput,
    OrderCancelFormInput,
    OrderCancelInput,
    OrderDetailOutput,
    OrderOutput,
    OrderPlaceFormInput,
    OrderPlaceInput,
    OrderSagaOutput,
)
from orders.api.throttles import OrderPlaceThrottle
from orders.cancellation import CancellationRefused, RefusalCode, cancellation_plan, cancellation_request
from orders.placement import order_place
from sagas.api import idempotency
from sagas.api.toolkit.docs import FIELD_ERRORS, READ_ERRORS, WRITE_ERRORS, ErrorOutput
from sagas.api.toolkit.pagination import NewestFirstCursorPagination
from sagas.participant.customers import customer_key

IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX_LENGTH, "pattern": idempotency.KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=True,
    description=_(
        "A unique value per intended order (a UUID is a good choice). Sending the same key and body "
        "again returns the first answer; the same key with another body is refused with 422."
    ),
)
LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202], description=_("The order's URL.")
)
REPLAYED = OpenApiParameter(
    idempotency.REPLAYED_HEADER,
    str,
    OpenApiParameter.HEADER,
    response=[202],
    description=_("`true` when this is the stored answer to an earlier request with the same key."),
)
# Where the browsable API's order form carries the key (see OrderPlaceFormInput).
FORM_KEY_FIELD = "idempotency_key"
ORDER_ID = OpenApiParameter("order_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description=_("The order's id."))
PLACE_EXAMPLE = OpenApiExample("Two widgets", value={"sku": "WIDGET-1", "quantity": 2}, request_only=True)


class OrderListPlaceApi(GenericAPIView):
    """GET lists the caller's orders (staff with the view permission on orders: everyone's), newest
    first; POST places one."""

    # The browsable API shows this (not the docstring), in the reader's language.
    description = _(
        "GET lists the caller's orders (staff with the view permission on orders: everyone's), newest first; "
        "POST places one."
    )

    name = _("Orders")
    pagination_class = NewestFirstCursorPagination
    serializer_class = OrderOutput

    def get_serializer_class(self) -> type[serializers.Serializer]:
        # The browsable API draws its POST form from this: the fields a client sends, not the answer's.
        return OrderPlaceFormInput if self.request.method == "POST" else OrderOutput

    def get_queryset(self) -> Any:
        return order_sagas_visible_to(self.request.user)

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(OrderPlaceThrottle())
        return throttles

    @extend_schema(
        operation_id="orders_list",
        summary=_("List orders, newest first"),
        description=_("The caller's orders, newest first; staff with the view permission on orders see everyone's."),
        responses={200: OrderOutput(many=True), 400: FIELD_ERRORS, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(OrderOutput(placed_orders_of(page), many=True).data)

    @extend_schema(
        operation_id="orders_place",
        summary=_("Place an order"),
        description=_(
            "Starts the saga that places the order and answers at once with 202; the order reads "
            "PLACING until the saga's first step has created it. Needs an Idempotency-Key header."
        ),
        parameters=[IDEMPOTENCY_KEY, LOCATION, REPLAYED],
        request=OrderPlaceInput,
        examples=[PLACE_EXAMPLE],
        responses={
            202: OpenApiResponse(
                OrderOutput, description=_("Accepted: the saga runs in the workers; follow the Location header.")
            ),
            **WRITE_ERRORS,
            409: OpenApiResponse(ErrorOutput, description=_("A request with this key is still being processed.")),
            422: OpenApiResponse(ErrorOutput, description=_("This key was already used with another body.")),
        },
    )
    def post(self, request: Request) -> Response:
        from_html_form = isinstance(request.accepted_renderer, BrowsableAPIRenderer)
        key = idempotency.idempotency_key_of(request, form_field=FORM_KEY_FIELD if from_html_form else "")
        data = OrderPlaceInput(data=request.data)
        data.is_valid(raise_exception=True)
        return idempotency.respond_once(
            request, key, data.validated_data, lambda: _place(request, key, data.validated_data)
        )


def _place(request: Request, key: str, data: dict[str, Any]) -> Response:
    saga, _started = order_place(
        customer=customer_key(request.user),
        sku=data["sku"],
        quantity=data["quantity"],
        style=data.get("style"),
        # Scoped by user: two customers may pick the same key without meeting.
        idempotency_key=f"api:{request.user.pk}:{key}",
    )
    location = request.build_absolute_uri(reverse("api:order-detail", args=[saga.business_key]))
    # A plain dict: the browsable API would draw its next form from the serializer the data came from.
    body = dict(OrderOutput(placed_order_of(saga)).data)
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class OrderDetailApi(APIView):
    """One order with its saga's status and steps; 404 unless it is the caller's (or the caller is staff
    with the view permission on orders)."""

    # The browsable API shows this (not the docstring), in the reader's language.
    description = _(
        "One order with its saga's status and steps; 404 unless it is the caller's (or the caller is staff "
        "with the view permission on orders)."
    )

    name = _("Order")

    @extend_schema(
        operation_id="orders_retrieve",
        summary=_("Read an order"),
        # The schema says what the browsable API says, in the reader's language (not the docstring).
        description=description,
        parameters=[ORDER_ID],
        responses={200: OrderDetailOutput, **READ_ERRORS},
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = placed_order_get(order_id, viewer=request.user)
        if order is None:
            raise NotFound(_("No such order."))
        return Response(OrderDetailOutput(order).data)


CANCEL_IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX_LENGTH, "pattern": idempotency.KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=True,
    description=_(
        "A unique value per intended cancel (a UUID is a good choice). Sending the same key and body "
        "again returns the first answer; the same key with another body is refused with 422."
    ),
)
# A refusal's HTTP status: someone else's order is not found; every other refusal is about the
# order's state, which the request cannot change (409, as an operator action the saga refuses).
_REFUSAL_STATUS = {RefusalCode.NOT_FOUND.value: status.HTTP_404_NOT_FOUND}
REFUSAL = OpenApiResponse(
    CancellationRefusalOutput,
    description=_(
        "Refused: the order's state does not allow a cancel now (`code`: already_cancelled, cancelling, "
        "confirming, window_passed, not_cancellable), or a request with this key is still being processed."
    ),
)
NOT_FOUND_REFUSAL = OpenApiResponse(
    CancellationRefusalOutput, description=_("No such order, or not one of yours (`code`: not_found).")
)


def refusal_response(refusal: CancellationRefused) -> Response:
    """The answer to a refused cancel: the machine-readable code and the customer's message."""
    body = {"detail": str(refusal.message), "code": refusal.code}
    return Response(body, status=_REFUSAL_STATUS.get(refusal.code, status.HTTP_409_CONFLICT))


def _links(request: Request, order_id: Any) -> dict[str, str]:
    return {
        "order": request.build_absolute_uri(reverse("api:order-detail", args=[order_id])),
        "cancellation": request.build_absolute_uri(reverse("api:order-cancellation", args=[order_id])),
    }


class OrderCancelApi(GenericAPIView):
    """Cancel one of your orders: before it is confirmed its placement stops and undoes its steps; once
    confirmed, within the cancellation window, a cancellation saga refunds it and returns the stock."""

    # The browsable API shows this (not the docstring), in the reader's language.
    description = _(
        "Cancel one of your orders: before it is confirmed its placement stops and undoes its steps; once "
        "confirmed, within the cancellation window, a cancellation saga refunds it and returns the stock."
    )

    name = _("Cancel order")
    # The browsable API draws its form from this: the fields a client sends, and the key (see OrderPlaceFormInput).
    serializer_class = OrderCancelFormInput

    @extend_schema(
        operation_id="orders_cancel",
        summary=_("Cancel an order"),
        description=_(
            "Starts the cancel and answers at once with 202 and the saga doing the work; follow the "
            "order's Location to watch it. Refusals say why with a `code` for machines and a `detail` for people. "
            "Needs an Idempotency-Key header: the same key and body again returns the first answer."
        ),
        parameters=[ORDER_ID, CANCEL_IDEMPOTENCY_KEY, LOCATION, REPLAYED],
        request=OrderCancelInput,
        responses={
            202: OpenApiResponse(CancellationStartedOutput, description=_("Accepted: the saga runs in the workers.")),
            **WRITE_ERRORS,
            404: NOT_FOUND_REFUSAL,
            409: REFUSAL,
            422: OpenApiResponse(ErrorOutput, description=_("This key was already used with another body.")),
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        from_html_form = isinstance(request.accepted_renderer, BrowsableAPIRenderer)
        key = idempotency.idempotency_key_of(request, form_field=FORM_KEY_FIELD if from_html_form else "")
        data = OrderCancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        return idempotency.respond_once(
            request, key, data.validated_data, lambda: _cancel(request, order_id, data.validated_data)
        )


def _cancel(request: Request, order_id: str, data: dict[str, Any]) -> Response:
    try:
        started = cancellation_request(
            order_id,
            customer=customer_key(request.user),
            actor=request.user.get_username(),
            reason=data.get("reason", ""),
        )
    except CancellationRefused as refusal:
        return refusal_response(refusal)
    order_id = str(started.saga.business_key)
    links = _links(request, order_id)
    body = {
        "order_id": order_id,
        "path": started.path.value,
        "created": started.created,
        "saga": dict(OrderSagaOutput(started.saga).data),
        "links": links,
    }
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": links["order"]})


class OrderCancellationApi(APIView):
    """What cancelling one of your orders would do now: how it would run, the refund, the stock that goes
    back and the deadline, or why it would be refused."""

    # The browsable API shows this (not the docstring), in the reader's language.
    description = _(
        "What cancelling one of your orders would do now: how it would run, the refund, the stock that goes "
        "back and the deadline, or why it would be refused."
    )

    name = _("Order cancellation")

    @extend_schema(
        operation_id="orders_cancellation_plan",
        summary=_("What a cancel would do now"),
        description=description,
        parameters=[ORDER_ID],
        responses={200: CancellationPlanOutput, **READ_ERRORS, 404: NOT_FOUND_REFUSAL},
    )
    def get(self, request: Request, order_id: str) -> Response:
        plan = cancellation_plan(order_id, customer=customer_key(request.user))
        if plan.refusal is not None and plan.refusal.code == RefusalCode.NOT_FOUND:
            return refusal_response(plan.refusal)
        body = {
            "order_id": plan.order_id,
            "possible": plan.path is not None,
            "path": plan.path.value if plan.path else None,
            "code": plan.refusal.code if plan.refusal else None,
            "detail": str(plan.refusal.message) if plan.refusal else "",
            "refund": plan.refund,
            "stock_back": [{"product": name, "quantity": quantity} for name, quantity in plan.stock_back],
            "deadline": plan.deadline,
        }
        return Response(CancellationPlanOutput(body).data)
