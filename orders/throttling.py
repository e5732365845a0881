"""The storefront's limit on placing orders: the API's `order_place` throttle, applied to the order form.

The same throttle class means the same rate (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["order_place"]),
the same cache and the same count per user: a customer gets one budget of orders a minute, whether
they place them through the form or the API, and every web process counts against it.
"""

import math

from django.http import HttpRequest

from orders.api.throttles import OrderPlaceThrottle


def order_place_wait(request: HttpRequest) -> int | None:
    """Count this attempt to place an order; None when it is allowed, else the seconds to wait.

    The request's user must be logged in: the count is kept per user, like the API's.
    """
    throttle = OrderPlaceThrottle()
    if throttle.allow_request(request, None):
        return None
    return max(1, math.ceil(throttle.wait() or 1))
