"""The order cancellation saga, as data: mark cancelling, refund (the pivot), return the stock, mark cancelled.

It cancels an order the placement saga confirmed. Its business key is the order's id and its
party the customer, as the placement saga's, so both sagas of an order are found by the order
id. The customer's request, its checks and refusals are orders/cancellation.py.

The pivot is the refund. Before it, the only thing done is the order's CANCELLING mark, which
compensates back to confirmed; once the money is back on the customer's balance it cannot be
taken again without the customer, so from the refund on the saga only goes forward: the stock
goes back on the shelf and the order is marked cancelled, retried until they succeed or a
person steps in. Registered through the SAGA_DEFINITION_MODULES setting.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from inventory import services as inventory
from orders import services as orders
from payments import services as payments
from sagas.engine.definition import RetryPolicy, SagaDefinition, Step, StepCall, register

NAME = "order_cancellation"


def mark_cancelling(call: StepCall) -> dict[str, Any]:
    data = call.input
    return orders.order_mark_cancelling(key=call.key, order_id=data["order_id"], reason=data.get("reason", ""))


def unmark_cancelling(call: StepCall) -> dict[str, Any]:
    return orders.order_unmark_cancelling(key=call.key, mark_key=call.action_key)


def refund_payment(call: StepCall) -> dict[str, Any]:
    return payments.payment_refund_order(key=call.key, order_id=call.input["order_id"])


def return_stock(call: StepCall) -> dict[str, Any]:
    return inventory.stock_return(key=call.key, order_id=call.input["order_id"])


def mark_cancelled(call: StepCall) -> dict[str, Any]:
    return orders.order_mark_cancelled(key=call.key, order_id=call.input["order_id"])


# Past the pivot the saga only goes forward: keep trying, then stop for a person.
_FORWARD_ONLY = RetryPolicy(max_attempts=10, backoff_max_seconds=30, on_exhausted="fail")

ORDER_CANCELLATION_SAGA = register(
    SagaDefinition(
        name=NAME,
        version=1,
        label=_("order cancellation"),
        business_key_label=_("order"),
        description="Cancel a confirmed order: mark it cancelling, refund the payment, return the stock, mark it "
        "cancelled. The refund is the pivot.",
        steps=(
            Step("mark_cancelling", mark_cancelling, compensation=unmark_cancelling),
            # The pivot: once the money is back on the customer's balance it cannot be taken again
            # without the customer, so from here the cancellation only goes forward. Before it,
            # marking the order cancelling is all there is to undo (the order is confirmed again).
            # Tried until its outcome is known, then a person decides (never compensated blind).
            Step("refund_payment", refund_payment, pivot=True, retry=_FORWARD_ONLY),
            Step("return_stock", return_stock, retry=_FORWARD_ONLY),
            Step("mark_cancelled", mark_cancelled, retry=_FORWARD_ONLY),
        ),
    )
)
