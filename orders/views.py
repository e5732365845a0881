"""Storefront pages: the catalog, the order form, an order's live progress, and the customer's orders.

A customer is the logged-in user, known to orders, payments and sagas by their user id (never
the username, which a later user may take). Every page that shows an order looks it up
together with that key, so someone else's order is a 404.
"""

import uuid
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from inventory import selectors as inventory_selectors
from orders import progress
from orders import selectors as order_selectors
from orders.forms import OrderForm
from orders.placement import order_place
from orders.throttling import order_place_wait
from payments import selectors as payment_selectors
from sagas.errors import InvalidSagaRequest
from sagas.models import SagaInstance
from sagas.participant.customers import customer_key

ORDERS_PER_PAGE = 10


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
        raise Http404("No such order.")
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
                    messages.info(request, "That form was already sent, so no second order was placed. Here it is.")
                order_id = saga.business_key or saga.context["input"]["order_id"]
                return redirect("order_detail", order_id=order_id)
    else:
        form = OrderForm(products=products, initial={"sku": request.GET.get("sku", "")})
    return render(request, "storefront/order_form.html", {"form": form, "balance": _balance(request)})


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """The order and its saga; the page keeps itself up to date while the saga runs."""
    saga = _customer_saga(request, order_id)
    order = order_selectors.order_get_for_customer(order_id, _customer(request))
    data = saga.context.get("input", {})
    product = inventory_selectors.product_get(data.get("sku", ""))
    context = {
        "saga": saga,
        "order": order,
        "input": data,
        "product_name": product.name if product else data.get("sku", ""),
        "progress": progress.saga_progress(saga),
    }
    return render(request, "storefront/order_detail.html", context)


@login_required
@require_GET
def order_progress(request: HttpRequest, order_id: uuid.UUID) -> JsonResponse:
    """The order page's live data: saga status, steps, percent and outcome, plus the order status."""
    saga = _customer_saga(request, order_id)
    order = order_selectors.order_get_for_customer(order_id, _customer(request))
    payload = progress.saga_progress(saga).as_dict()
    payload["order_status"] = order.get_status_display() if order else "Not created yet"
    return JsonResponse(payload, headers={"Cache-Control": "no-store"})


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """The customer's orders, newest first, including one whose saga has not created it yet."""
    page = Paginator(progress.sagas_for_customer(_customer(request)), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    orders = order_selectors.orders_by_id(saga.business_key for saga in page)
    names = inventory_selectors.product_names(saga.context.get("input", {}).get("sku", "") for saga in page)
    rows = [
        {
            "saga": saga,
            "order": orders.get(str(saga.business_key)),
            "input": saga.context.get("input", {}),
            "product_name": names.get(saga.context.get("input", {}).get("sku", ""), ""),
            "status": progress.customer_status(saga),
        }
        for saga in page
    ]
    return render(request, "storefront/order_list.html", {"page": page, "rows": rows})
