"""The participants' database connections, as seen from a worker that calls their services."""

from django.conf import settings
from django.db import connections


def service_aliases() -> tuple[str, ...]:
    """Every database alias but the engine's own `default`: the participants' databases."""
    return tuple(alias for alias in settings.DATABASES if alias != "default")


def reset_service_connections(*, force: bool) -> None:
    """Drop participant connections that an interrupted or failed call may have left broken.

    A call cut short by its timeout can leave a connection mid-statement; the next call on
    it would fail, so `force` closes every one, while after an ordinary call only the
    unusable or obsolete ones go.
    """
    for alias in service_aliases():
        connection = connections[alias]
        if connection.in_atomic_block:
            continue  # an outer transaction (a test's) owns this connection
        if force:
            connection.close()
        else:
            connection.close_if_unusable_or_obsolete()
