"""The order saga, as data: create, reserve, charge, approve (the pivot), then commit stock.

Each step maps the saga's input to one participant call with the step's idempotency key;
each compensation passes the key of the action it undoes.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from inventory import services as inventory
from orders import services as orders
from payments import services as payments
from sagas.engine.definition import RetryPolicy, SagaDefinition, Step, StepCall, register


def create_order(call: StepCall) -> dict[str, Any]:
    data = call.input
    return orders.order_create(
        key=call.key,
        order_id=data["order_id"],
        customer=data["customer"],
        lines=[{"sku": data["sku"], "quantity": data["quantity"], "unit_price": data["unit_price"]}],
        saga_id=call.saga_id,
    )


def cancel_order(call: StepCall) -> dict[str, Any]:
    return orders.order_cancel(key=call.key, create_key=call.action_key, reason=call.reason)


def reserve_stock(call: StepCall) -> dict[str, Any]:
    data = call.input
    return inventory.stock_reserve(key=call.key, order_id=data["order_id"], sku=data["sku"], quantity=data["quantity"])


def release_stock(call: StepCall) -> dict[str, Any]:
    return inventory.reservation_release(key=call.key, reserve_key=call.action_key)


def charge_payment(call: StepCall) -> dict[str, Any]:
    data = call.input
    return payments.payment_charge(
        key=call.key, order_id=data["order_id"], customer=data["customer"], amount=data["total"]
    )


def refund_payment(call: StepCall) -> dict[str, Any]:
    return payments.payment_refund(key=call.key, charge_key=call.action_key)


def approve_order(call: StepCall) -> dict[str, Any]:
    return orders.order_approve(key=call.key, order_id=call.input["order_id"])


def commit_stock(call: StepCall) -> dict[str, Any]:
    reserve_key = call.action_key.replace(":commit_stock:", ":reserve_stock:")
    return inventory.reservation_commit(key=call.key, reserve_key=reserve_key)


ORDER_SAGA = register(
    SagaDefinition(
        name="order",
        version=1,
        # Shown to people (the saga page's title); the choreographed order shares this definition.
        label=_("order placement"),
        # The saga's business key is the order's id: people find the saga by "order id".
        business_key_label=_("order"),
        description="Place an order: create it, reserve stock, charge the customer, approve.",
        steps=(
            Step("create_order", create_order, compensation=cancel_order),
            Step("reserve_stock", reserve_stock, compensation=release_stock),
            Step("charge_payment", charge_payment, compensation=refund_payment),
            Step("approve_order", approve_order, pivot=True, retry=RetryPolicy(max_attempts=5)),
            # After the pivot the saga can only go forward: keep trying, then ask a person.
            Step(
                "commit_stock",
                commit_stock,
                retry=RetryPolicy(max_attempts=10, backoff_max_seconds=30, on_exhausted="fail"),
            ),
        ),
    )
)
