"""Storefront pages: the catalog, the order form, an order's live progress, and the customer's orders.

A customer is the logged-in user, known to orders, payments and sagas by their user id (never
the username, which a later user may take). Every page that shows an order looks it up
together with that key, so someone else's order is a 404.
"""

import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from inventory import selectors as inventory_selectors
from orders import progress
from orders import selectors as order_selectors
from orders.cancellation import (
    CancellationPlan,
    CancellationRefused,
    CancelPath,
    cancellation_plan,
    cancellation_request,
)
from orders.forms import CancelOrderForm, OrderForm
from orders.placement import order_place
from orders.throttling import order_place_wait
from payments import selectors as payment_selectors
from sagas.errors import InvalidSagaRequest
from sagas.models import SagaInstance
from sagas.participant.customers import customer_key

ORDERS_PER_PAGE = 10
# Refusals the order page leaves unsaid: its progress card already shows the order cancelled or
# being cancelled, and someone else's order is a 404.
_REFUSALS_THE_PAGE_SHOWS_OTHERWISE = frozenset({"already_cancelled", "cancelling", "not_found"})


@dataclass(frozen=True)
class CancelOffer:
    """What the order page offers: the Cancel order button, or why there is none."""

    available: bool
    url: str
    refusal: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cancel_offer(plan: CancellationPlan) -> CancelOffer:
    """The offer a cancellation plan makes to the customer on the order page."""
    if plan.path is not None:
        return CancelOffer(available=True, url=reverse("order_cancel", args=[plan.order_id]), refusal="")
    refusal = plan.refusal
    said = refusal.message if refusal and refusal.code not in _REFUSALS_THE_PAGE_SHOWS_OTHERWISE else ""
    return CancelOffer(available=False, url="", refusal=str(said))


def _promise(plan: CancellationPlan) -> str:
    """What the confirmation page told the customer a cancel would do: how it runs and the refund."""
    return f"{plan.path}:{plan.refund}"


def _customer(request: HttpRequest) -> str:
    """The logged-in user's customer key: the one place a page turns its user into a customer."""
    return customer_key(request.user)


def _balance(request: HttpRequest) -> Decimal | None:
    """The logged-in customer's balance; None for a visitor or a login with no payment account."""
    if not request.user.is_authenticated:
        return None
    return payment_selectors.account_balance(_customer(request))


def _customer_saga(request: HttpRequest, order_id: uuid.UUID) -> SagaInstance:
    saga = progress.saga_for_order(order_id, _customer(request))
    if saga is None:
        raise Http404(_("No such order."))
    return saga


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    """Every product for sale with its price and the stock free to order."""
    context = {"products": inventory_selectors.product_list(), "balance": _balance(request)}
    return render(request, "storefront/catalog.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def order_create(request: HttpRequest) -> HttpResponse:
    """The order form; a valid submission starts the saga and redirects to the order's page.

    The form carries a one-time token that becomes the saga's idempotency key, so a double
    click or a resubmit after "back" leads to the order the first submission placed.
    """
    products = inventory_selectors.product_list()
    if request.method == "POST":
        form = OrderForm(request.POST, products=products)
        wait = order_place_wait(request)
        if wait is not None:
            form.refuse_for_rate(wait)
            context = {"form": form, "balance": _balance(request)}
            response = render(request, "storefront/order_form.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
        if form.is_valid():
            try:
                saga, created = order_place(
                    customer=_customer(request),
                    sku=form.cleaned_data["sku"],
                    quantity=form.cleaned_data["quantity"],
                    style=form.cleaned_data["style"],
                    idempotency_key=form.idempotency_key(request.user.pk),
                )
            except InvalidSagaRequest as error:
                form.add_order_error(error)
            else:
                if not created:
                    messages.info(request, _("That form was already sent, so no second order was placed. Here it is."))
                order_id = saga.business_key or saga.context["input"]["order_id"]
                return redirect("order_detail", order_id=order_id)
    else:
        form = OrderForm(products=products, initial={"sku": request.GET.get("sku", "")})
    return render(request, "storefront/order_form.html", {"form": form, "balance": _balance(request)})


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """The order, the progress of the saga doing its work, and the Cancel order button while a cancel is possible.

    The page keeps itself up to date while that saga runs: the placement, or once the customer
    cancelled a confirmed order, the cancellation.
    """
    saga = _customer_saga(request, order_id)
    order = order_selectors.order_get_for_customer(order_id, _customer(request))
    data = saga.context.get("input", {})
    product = inventory_selectors.product_get(data.get("sku", ""))
    context = {
        "saga": saga,
        "order": order,
        "input": data,
        "product_name": product.name if product else data.get("sku", ""),
        "progress": progress.saga_progress(progress.working_saga(saga)),
        "cancel": cancel_offer(cancellation_plan(order_id, customer=_customer(request))),
    }
    return render(request, "storefront/order_detail.html", context)


@login_required
@require_GET
def order_progress(request: HttpRequest, order_id: uuid.UUID) -> JsonResponse:
    """The order page's live data: the working saga's status, steps, percent and outcome, the order
    status, and whether the order can be cancelled now."""
    saga = _customer_saga(request, order_id)
    order = order_selectors.order_get_for_customer(order_id, _customer(request))
    payload = progress.saga_progress(progress.working_saga(saga)).as_dict()
    payload["order_status"] = order.get_status_display() if order else _("Not created yet")
    payload["cancel"] = cancel_offer(cancellation_plan(order_id, customer=_customer(request))).as_dict()
    return JsonResponse(payload, headers={"Cache-Control": "no-store"})


@login_required
@require_http_methods(["GET", "POST"])
def order_cancel(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """The confirmation of a cancel: what happens to the money and the stock, and by when; POST starts it.

    A refusal, on either method, goes back to the order page as a message. A confirmation sent
    after the order moved on (the plan the page showed no longer holds) shows the page again
    with what a cancel does now instead of starting it.
    """
    saga = _customer_saga(request, order_id)
    customer = _customer(request)
    plan = cancellation_plan(order_id, customer=customer)
    form = CancelOrderForm(request.POST if request.method == "POST" else None, initial={"promised": _promise(plan)})
    if request.method == "POST" and form.is_valid():
        if plan.path is not None and form.cleaned_data["promised"] != _promise(plan):
            messages.warning(
                request, _("Your order moved on while you were deciding. Here is what cancelling it does now.")
            )
            form = CancelOrderForm(initial={"promised": _promise(plan), "reason": form.cleaned_data["reason"]})
        else:
            _start_cancel(request, order_id, customer, form.cleaned_data["reason"])
            return redirect("order_detail", order_id=order_id)
    if plan.refusal is not None:
        messages.error(request, plan.refusal.message)
        return redirect("order_detail", order_id=order_id)
    data = saga.context.get("input", {})
    product = inventory_selectors.product_get(data.get("sku", ""))
    context = {
        "saga": saga,
        "input": data,
        "product_name": product.name if product else data.get("sku", ""),
        "plan": plan,
        "form": form,
    }
    return render(request, "storefront/order_cancel.html", context)


def _start_cancel(request: HttpRequest, order_id: uuid.UUID, customer: str, reason: str) -> None:
    """Start the cancel and say, as a message on the order page, what happened."""
    try:
        started = cancellation_request(order_id, customer=customer, actor=_actor(request), reason=reason)
    except CancellationRefused as refusal:
        messages.error(request, refusal.message)
        return
    if not started.created:
        messages.info(request, _("This order is already being cancelled; nothing more was started."))
    elif started.path == CancelPath.STOP_PLACEMENT:
        messages.success(request, _("We are stopping your order and undoing what was done so far."))
    else:
        messages.success(request, _("We are cancelling your order: your refund and the stock are on their way back."))


def _actor(request: HttpRequest) -> str:
    """Who cancelled, as the saga's audit records it."""
    return request.user.get_username()


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """The customer's orders, newest first, including one whose saga has not created it yet."""
    page = Paginator(progress.sagas_for_customer(_customer(request)), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    orders = order_selectors.orders_by_id(saga.business_key for saga in page)
    cancellations = progress.cancellations_by_order(page)
    names = inventory_selectors.product_names(saga.context.get("input", {}).get("sku", "") for saga in page)
    rows = [
        {
            "saga": saga,
            "order": orders.get(str(saga.business_key)),
            "input": saga.context.get("input", {}),
            "product_name": names.get(saga.context.get("input", {}).get("sku", ""), ""),
            "status": progress.customer_status(saga, cancellations.get(str(saga.business_key))),
            # The badge's colour: the order's status in saga terms (a cancelled order reads as compensated).
            "tone": progress.order_status(saga, cancellations.get(str(saga.business_key))).lower(),
        }
        for saga in page
    ]
    return render(request, "storefront/order_list.html", {"page": page, "rows": rows})
