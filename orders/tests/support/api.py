"""Customers and order requests for the API tests of the order saga."""

import uuid
from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

from payments.tests.factories import account_for
from sagas.tests import api_helpers


def make_user(username: str, *, staff: bool = False, perms: tuple[str, ...] = (), account: Decimal | None = None):
    """A login as `sagas.tests.api_helpers.make_user` makes it; `account` opens a customer account with that balance."""
    user = api_helpers.make_user(username, staff=staff, perms=perms)
    if account is not None:
        account_for(user, account)
    return user


def place(client: APIClient, body: dict[str, Any], key: str | None = None):
    """POST /api/orders/ with a fresh Idempotency-Key unless one is given."""
    key = key or str(uuid.uuid4())
    return client.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
