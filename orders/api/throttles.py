"""Rate limits for placing orders, tighter than for reading."""

from rest_framework.throttling import UserRateThrottle


class OrderPlaceThrottle(UserRateThrottle):
    """Orders placed per user; the rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["order_place"]."""

    scope = "order_place"
