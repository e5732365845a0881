"""Placing an order: validate the customer's request and start the saga that carries it out.

The limits and checks of an order request live here, with the orders service; the engine
only gets a saga input and a style to start it in.
"""

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from inventory import selectors as inventory_selectors
from payments import selectors as payment_selectors
from sagas.errors import InvalidSagaRequest
from sagas.models import SagaInstance, SagaStyle
from sagas.participant import customers
from sagas.participant.money import to_money
from sagas.participant.parsing import InvalidNumber, NumberProblem, parse_whole_number
from sagas.services import saga_start

MAX_ORDER_QUANTITY = 1000

# The saga definition that places an order (orders/saga.py, registered by OrdersConfig.ready()).
ORDER_SAGA = "order"


def _parse_quantity(quantity: Any) -> int:
    try:
        return parse_whole_number(quantity, minimum=1, maximum=MAX_ORDER_QUANTITY)
    except InvalidNumber as error:
        if error.problem == NumberProblem.TOO_LARGE:
            message = _("At most %(maximum)d units per order.") % {"maximum": MAX_ORDER_QUANTITY}
        else:
            message = _("Quantity must be a positive whole number in the digits 0-9, not %(value)r.") % {
                "value": quantity
            }
        raise InvalidSagaRequest("quantity", message) from None


def order_place(
    *,
    customer: str,
    sku: str,
    quantity: Any,
    style: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[SagaInstance, bool]:
    """Validate an order request and start the saga that places it.

    `customer` is the customer's key (their user id: adapters turn a user or a username into it
    with sagas.participant.customers). Raises InvalidSagaRequest naming the bad field: unknown
    customer, unknown or inactive product, or a quantity that is not a positive whole number
    within the limit.
    """
    amount = _parse_quantity(quantity)
    style = style or settings.SAGA_DEFAULT_STYLE
    if style not in SagaStyle.values:
        raise InvalidSagaRequest(
            "style", _("Style must be one of: %(styles)s.") % {"styles": ", ".join(SagaStyle.values)}
        )
    if payment_selectors.account_get(customer) is None:
        raise InvalidSagaRequest(
            "customer", _("Unknown customer %(customer)r.") % {"customer": customers.customer_name(customer)}
        )
    product = inventory_selectors.product_get(sku)
    if product is None:
        raise InvalidSagaRequest("sku", _("Unknown product %(sku)r.") % {"sku": sku})
    if not product.active:
        raise InvalidSagaRequest("sku", _("%(sku)s is not for sale.") % {"sku": sku})
    unit_price: Decimal = to_money(product.unit_price)
    order_id = uuid.uuid4()
    saga_input = {
        "order_id": str(order_id),
        "customer": customer,
        "sku": sku,
        "quantity": amount,
        "unit_price": str(unit_price),
        "total": str(unit_price * amount),
    }
    return saga_start(
        ORDER_SAGA,
        saga_input,
        idempotency_key=idempotency_key,
        style=style,
        business_key=order_id,
        party=customer,
    )
