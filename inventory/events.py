"""The events of the choreographed order flow as the inventory service knows them.

An event's name is the contract between services, so each service declares the names it
publishes and the names it listens to, and imports no other service to learn them;
orders/tests/test_event_contract.py checks that every name listened to is published by someone.
"""

# Published by inventory.
STOCK_RESERVED = "stock-reserved"  # units are set aside for the order
STOCK_REJECTED = "stock-rejected"  # no reservation (out of stock, inactive, gave up)
STOCK_COMMITTED = "stock-committed"  # the reservation became a sale
STOCK_RELEASED = "stock-released"  # nothing of the order is reserved any more

# Listened to.
ORDER_CREATED = "order-created"
ORDER_APPROVED = "order-approved"
ORDER_CANCELLED = "order-cancelled"
PAYMENT_DECLINED = "payment-declined"

PUBLISHED = (STOCK_RESERVED, STOCK_REJECTED, STOCK_COMMITTED, STOCK_RELEASED)
LISTENED_TO = (ORDER_CREATED, ORDER_APPROVED, ORDER_CANCELLED, PAYMENT_DECLINED)
