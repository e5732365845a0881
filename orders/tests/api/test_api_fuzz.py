"""Property-based fuzzing of the whole API against its own OpenAPI schema, in process.

Schemathesis generates valid and invalid requests for every operation (and tries methods the
schema does not list) and runs every check it has, as `st run --checks all` does: no 5xx, a
documented status code, content type and headers, a body that matches the schema, invalid input
refused and valid input accepted, a missing required header refused, no answer without
credentials where the schema asks for them, and more. It runs once as a customer and once as a
staff member. The example count per operation is bounded so each run stays near a minute.
"""

import json
import os
import uuid
from decimal import Decimal

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import Case
from schemathesis.generation import GenerationMode

from inventory.tests.factories import ProductFactory
from orders.placement import ORDER_SAGA, order_place
from orders.tests.support.api import make_user
from sagas.api import idempotency
from sagas.models import SagaInstance
from sagas.participant.customers import customer_key
from sagas.testing.choreography import drain_events
from sagas.tests.api_helpers import permissions

pytestmark = pytest.mark.django_db(databases="__all__")

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


PRODUCT = "WIDGET-1"
LOGIN = {"username": "fuzz-login", "password": "fuzz-pass-123"}
STAFF_PERMS = (
    "sagas.view_sagainstance",
    "sagas.retry_saga",
    "sagas.compensate_saga",
    "sagas.resume_saga",
    "orders.view_order",
)


@pytest.fixture(params=["alice", "staff"])
def credentials(request, monkeypatch, settings):
    """A customer, or a staff member with the saga permissions, both with money; a product on sale,
    and sagas of both styles and several outcomes so the lists have something to answer with."""
    for scope in ("user", "anon", "order_place", "token_obtain"):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "100000/minute")
    # Every password check of /api/token/ hashes; the production hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    ProductFactory(sku=PRODUCT, unit_price=Decimal("25.00"), stock_on_hand=5)
    login = make_user(LOGIN["username"])
    login.set_password(LOGIN["password"])
    login.save(update_fields=["password"])
    user = make_user(request.param, staff=request.param == "staff", account=Decimal("1000000.00"))
    if user.is_staff:
        user.user_permissions.add(*permissions(STAFF_PERMS))
    for quantity, style in ((1, "orchestration"), (10, "orchestration"), (1, "choreography")):
        order_place(customer=customer_key(user), sku=PRODUCT, quantity=quantity, style=style)  # 10: out of stock
    drain_events()
    order_place(customer=customer_key(user), sku=PRODUCT, quantity=1)  # still pending
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


# The schema as /api/schema/ serves it, built in process: a request at import time would need the
# database, where the throttles keep their counts.
openapi = SchemaGenerator().get_schema(public=True)
schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(openapi)))
schema.app = get_wsgi_application()
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES)
# Every check, as `--checks all` on the command line; call_and_validate runs the enabled ones.
schema.config.checks.update(included_check_names=["all"])


@pytest.fixture
def known_orders(credentials):
    """The ids of the orders `credentials` placed (confirmed, refused, pending), for requests that name one."""
    return [
        str(key)
        for key in SagaInstance.objects.filter(definition_name=ORDER_SAGA).values_list("business_key", flat=True)
    ]


def with_known_data(case: Case, orders: list[str]) -> None:
    """Give a valid request what no schema can know: a product that exists, a real login, a key
    not used before and an order of the caller's (so reading, planning and cancelling an order meet
    real ones, not only 404s). The API refuses an unknown product, a wrong password or a reused key
    on purpose; invalid requests are left as generated, so the API must still refuse them."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.path_parameters and "order_id" in case.path_parameters and orders:
        try:
            pick = uuid.UUID(str(case.path_parameters["order_id"])).int
        except ValueError:
            pick = 0
        case.path_parameters["order_id"] = orders[pick % len(orders)]
    if isinstance(case.body, dict) and case.operation.path == "/api/orders/":
        case.body["sku"] = PRODUCT
    if isinstance(case.body, dict) and case.operation.path == "/api/token/":
        case.body.update(LOGIN)
    if case.headers and idempotency.HEADER in case.headers:
        case.headers[idempotency.HEADER] = str(uuid.uuid4())


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_never_fails_and_always_answers_as_documented(case, credentials, known_orders):
    with_known_data(case, known_orders)
    case.call_and_validate(headers=credentials)
