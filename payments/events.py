"""The events of the choreographed order flow as the payments service knows them.

An event's name is the contract between services, so each service declares the names it
publishes and the names it listens to, and imports no other service to learn them;
orders/tests/test_event_contract.py checks that every name listened to is published by someone.
"""

# Published by payments.
PAYMENT_CAPTURED = "payment-captured"  # the customer paid
PAYMENT_DECLINED = "payment-declined"  # no payment (insufficient funds, gave up)
PAYMENT_REFUNDED = "payment-refunded"  # nothing of the order is charged any more

# Listened to.
STOCK_RESERVED = "stock-reserved"
ORDER_CANCELLED = "order-cancelled"

PUBLISHED = (PAYMENT_CAPTURED, PAYMENT_DECLINED, PAYMENT_REFUNDED)
LISTENED_TO = (STOCK_RESERVED, ORDER_CANCELLED)
