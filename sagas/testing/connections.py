"""Test support: drop this process's database connections that the server has cut."""

from django.db import connections


def close_dead_connections() -> None:
    """Close every opened connection that no longer answers, so the next query opens a new one.

    Tests that kill database backends on purpose (self-healing, broker, store) can leave this
    process holding a cut connection; Django replaces one only between requests.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
            connection.close()
