"""Set-up shared by the orders tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counts live in the cache, keyed by a user id a later test may reuse: each test starts with none."""
    cache.clear()
    yield
    cache.clear()
