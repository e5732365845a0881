"""The API over real HTTP (a live server and urllib): authentication and Idempotency-Key replays,
including many clients sending one key at the same moment."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from inventory.tests.factories import ProductFactory
from orders.tests.support.api import make_user
from sagas.models import IdempotentRequest, SagaInstance
from sagas.tests.api_helpers import http

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

WIDGETS = {"sku": "WIDGET-1", "quantity": 1}


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.fixture
def alice_token(transactional_db):
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=100)
    alice = make_user("alice", account=Decimal("1000.00"))
    return {"Authorization": f"Token {Token.objects.create(user=alice).key}"}


def order(live_server, token: dict[str, str], key: str, body=WIDGETS):
    return http(f"{live_server.url}/api/orders/", "POST", body, {**token, "Idempotency-Key": key})


def test_without_credentials_the_answer_is_401_with_a_token_challenge(live_server, alice_token):
    status, headers, body = http(f"{live_server.url}/api/orders/")
    assert status == 401
    assert headers["WWW-Authenticate"] == "Token"
    assert body == {"detail": "Authentication credentials were not provided."}


def test_a_token_authenticates(live_server, alice_token):
    status, _, body = http(f"{live_server.url}/api/products/", headers=alice_token)
    assert status == 200
    assert [p["sku"] for p in body] == ["WIDGET-1"]


def test_a_session_cookie_authenticates(live_server, alice_token):
    browser = Client()
    browser.force_login(make_user("bob"))
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    status, _, _ = http(f"{live_server.url}/api/orders/", headers={"Cookie": cookie})
    assert status == 200


def test_a_password_gets_the_api_token_which_then_authenticates(live_server, alice_token, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    bob = make_user("bob")
    bob.set_password("correct horse")
    bob.save(update_fields=["password"])
    status, _, body = http(f"{live_server.url}/api/token/", "POST", {"username": "bob", "password": "correct horse"})
    assert status == 200
    assert body == {"token": Token.objects.get(user=bob).key}
    status, _, _ = http(f"{live_server.url}/api/orders/", headers={"Authorization": f"Token {body['token']}"})
    assert status == 200


def test_a_wrong_password_gets_no_token_and_guessing_is_throttled(live_server, alice_token, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "token_obtain", "2/minute")
    guesses = [
        http(f"{live_server.url}/api/token/", "POST", {"username": "alice", "password": "guess"}) for _ in range(3)
    ]
    assert [status for status, _, _ in guesses] == [400, 400, 429]
    assert guesses[0][2] == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_a_replay_over_http_gets_the_first_answer_and_a_changed_body_gets_422(live_server, alice_token):
    first = order(live_server, alice_token, "http-1")
    again = order(live_server, alice_token, "http-1")
    changed = order(live_server, alice_token, "http-1", {"sku": "WIDGET-1", "quantity": 2})
    assert first[0] == again[0] == 202
    assert again[2] == first[2]
    assert again[1]["Location"] == first[1]["Location"]
    assert again[1]["Idempotent-Replayed"] == "true"
    assert changed[0] == 422
    assert SagaInstance.objects.count() == 1
    status, _, detail = http(first[1]["Location"], headers=alice_token)
    assert status == 200 and detail["id"] == first[2]["id"]


def _at_once(count: int, call) -> list:
    """Run `call(i)` in `count` threads released together; their results in thread order."""
    gate = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        gate.wait()
        results[index] = call(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgres
def test_concurrent_requests_with_one_key_place_one_order_and_all_get_its_answer(live_server, alice_token):
    key = str(uuid.uuid4())
    results = _at_once(8, lambda _: order(live_server, alice_token, key))
    assert {status for status, _, _ in results} == {202}
    assert len({body["id"] for _, _, body in results}) == 1
    assert len({headers["Location"] for _, headers, _ in results}) == 1
    assert sum(headers.get("Idempotent-Replayed") == "true" for _, headers, _ in results) == 7
    assert SagaInstance.objects.count() == 1
    assert IdempotentRequest.objects.count() == 1


@pytest.mark.postgres
def test_concurrent_requests_with_different_keys_each_place_an_order(live_server, alice_token):
    results = _at_once(6, lambda i: order(live_server, alice_token, f"key-{i}"))
    assert [status for status, _, _ in results] == [202] * 6
    assert SagaInstance.objects.count() == 6
