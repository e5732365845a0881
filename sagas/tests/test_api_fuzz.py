"""Property-based fuzzing of the whole API against its own OpenAPI schema, in process.

Schemathesis generates valid and invalid requests for every operation (and tries methods the
schema does not list) and checks each answer: no 5xx, a documented status code, content type
and headers, a body that matches the schema, invalid input refused, and no answer without
credentials where the schema asks for them. The example count per operation is bounded so the
whole run stays near a minute or two.
"""

import os
from decimal import Decimal

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from inventory.tests.factories import ProductFactory
from sagaproject.customers import customer_key
from sagas.choreography_testing import drain_events
from sagas.services import order_place
from sagas.tests.api_helpers import make_user

pytestmark = pytest.mark.django_db(databases="__all__")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
]
# Per operation and mode; ten operations in two modes keep the run between one and two minutes.
# API_FUZZ_EXAMPLES=500 makes a deeper run by hand.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "60"))


@pytest.fixture(autouse=True)
def _connections_kept_open():
    """Django closes database connections when a request finishes; its test client turns that
    off, and raw WSGI calls must too, or the test's transaction would be closed under it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def operator_token(monkeypatch, settings):
    """A superuser who is also a customer, a product on sale, and sagas of both styles and several
    outcomes so the lists have something to answer with."""
    for scope in ("user", "anon", "order_place", "token_obtain"):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "100000/minute")
    # Every password check of /api/token/ hashes; the production hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=5)
    root = make_user("root", staff=True, account=Decimal("1000000.00"))
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    for quantity, style in ((1, "orchestration"), (10, "orchestration"), (1, "choreography")):
        order_place(customer=customer_key(root), sku="WIDGET-1", quantity=quantity, style=style)  # 10: out of stock
    drain_events()
    order_place(customer=customer_key(root), sku="WIDGET-1", quantity=1)  # still pending
    return {"Authorization": f"Token {Token.objects.create(user=root).key}"}


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_never_fails_and_always_answers_as_documented(case, operator_token):
    case.call_and_validate(headers=operator_token, checks=CHECKS)
