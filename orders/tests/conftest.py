"""Set-up shared by the orders tests."""

import pytest
from django.core.cache import cache

# The order saga's tests run on the same stocked shop as the engine's.
from sagas.conftest import shop  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_throttles(request: pytest.FixtureRequest):
    """Throttle counts live in the cache, keyed by a user id a later test may reuse: each test starts with none.

    The cache is a table on `default`, so a test that may not touch `default` has no counts to clear.
    """
    marker = request.node.get_closest_marker("django_db")
    databases = marker.kwargs.get("databases", ["default"]) if marker else []
    if databases != "__all__" and "default" not in databases:
        yield
        return
    cache.clear()
    yield
    cache.clear()
