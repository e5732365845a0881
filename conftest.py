"""Test set-up shared by every app: database selection and the worker-cluster helpers."""

import os

import pytest
from django.db import connections


def _backend() -> str:
    return connections["default"].vendor


@pytest.hookimpl(trylast=True)  # after `-m` has deselected, so the SQLite pass never sees them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            if os.environ.get("CI"):
                raise pytest.UsageError(
                    f"{item.nodeid} needs PostgreSQL and CI never skips it: run with DATABASE_URL set, "
                    "or deselect it with -m 'not postgres' on the SQLite pass."
                )
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: DATABASE_URL is not a PostgreSQL URL"))


@pytest.fixture(autouse=True)
def _fresh_fault_cache():
    """Each test sees the fault rules it planted, not a neighbour's cached ones."""
    from sagas.participant import faults

    faults.clear_cache()
    yield
    faults.clear_cache()


@pytest.fixture(autouse=True)
def _site_language_and_zone():
    """Each test starts in the site's language and zone: a request or a test that activated
    Japanese or a user's zone leaves it active in the thread, and the next test's command
    output or page would read in it."""
    from django.utils import timezone, translation

    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _usable_connections():
    """Each test starts on connections that answer (see close_dead_connections)."""
    from sagas.testing.connections import close_dead_connections

    close_dead_connections()
    yield
