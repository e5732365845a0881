"""The events of the choreographed order flow, owned by the order service that owns the flow.

Payments and inventory declare the names they publish and listen to in their own events
modules (they import no other service); orders/tests/test_event_contract.py keeps them agreed.

Each name is a fact in the past tense, published by the one service that owns it, except
the two requests, which the saga monitor publishes on behalf of a customer or an operator.
"""

ORDER_REQUESTED = "order-requested"  # a customer asked for an order (published by the monitor)
ORDER_CREATED = "order-created"  # orders: the order exists, PENDING
STOCK_RESERVED = "stock-reserved"  # inventory: units are set aside for it
STOCK_REJECTED = "stock-rejected"  # inventory: no reservation (out of stock, inactive, gave up)
PAYMENT_CAPTURED = "payment-captured"  # payments: the customer paid
PAYMENT_DECLINED = "payment-declined"  # payments: no payment (insufficient funds, gave up)
ORDER_APPROVED = "order-approved"  # orders: the pivot, after which nothing is undone
STOCK_COMMITTED = "stock-committed"  # inventory: the reservation became a sale
ORDER_CANCEL_REQUESTED = "order-cancel-requested"  # an operator or the deadline asks to cancel (monitor)
ORDER_CANCELLED = "order-cancelled"  # orders: the order is CANCELLED (or will never exist)
STOCK_RELEASED = "stock-released"  # inventory: nothing of the order is reserved any more
PAYMENT_REFUNDED = "payment-refunded"  # payments: nothing of the order is charged any more
