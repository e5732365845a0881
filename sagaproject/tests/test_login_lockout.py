"""Password guessing on /login/ and /admin/login/: after LOGIN_FAILURE_LIMIT failures for one
username from one address, that pair is refused with a clear message, even with the right
password; another address or another user still logs in."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import router
from django.test import Client

pytestmark = pytest.mark.django_db(databases="__all__")

LOCKED = "Too many failed logins for this username from your address"


@pytest.fixture(autouse=True)
def users(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.create_user("alice", password="alice-right-pw")
    User.objects.create_user("bob", password="bob-right-pw")
    User.objects.create_user("operator", password="operator-right-pw", is_staff=True)


def log_in(client: Client, path: str, username: str, password: str, **extra: str):
    return client.post(path, {"username": username, "password": password}, **extra)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(("path", "username"), [("/login/", "alice"), ("/admin/login/", "operator")])
def test_after_the_failure_limit_even_the_right_password_is_refused_with_a_clear_message(
    client, settings, path, username
):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = log_in(client, path, username, "a-wrong-guess")
        assert response.status_code == 200  # the form again, with its usual error
    refused = log_in(client, path, username, "a-wrong-guess")
    assert refused.status_code == 429
    assert LOCKED in refused.content.decode()
    right = log_in(client, path, username, f"{username}-right-pw")
    assert right.status_code == 429
    page = right.content.decode()
    assert LOCKED in page and "15 minutes" in page and "even with the right password" in page
    assert not logged_in(client)


def test_a_locked_pair_leaves_other_addresses_and_other_users_alone(client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "/login/", "alice", "a-wrong-guess")
    assert log_in(client, "/login/", "alice", "alice-right-pw").status_code == 429

    elsewhere = Client()
    assert log_in(elsewhere, "/login/", "alice", "alice-right-pw", REMOTE_ADDR="10.0.0.9").status_code == 302
    assert logged_in(elsewhere)
    same_address = Client()
    assert log_in(same_address, "/login/", "bob", "bob-right-pw").status_code == 302
    assert logged_in(same_address)


def test_a_client_cannot_escape_the_lockout_by_naming_another_address_itself(client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "/login/", "alice", "a-wrong-guess")
    spoofed = log_in(client, "/login/", "alice", "alice-right-pw", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert spoofed.status_code == 429
    assert not logged_in(client)


def test_a_successful_login_forgets_the_earlier_failures(client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "/login/", "alice", "a-wrong-guess")
    assert log_in(client, "/login/", "alice", "alice-right-pw").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "/login/", "alice", "a-wrong-guess").status_code == 200
    assert log_in(client, "/login/", "alice", "alice-right-pw").status_code == 302


def test_the_api_token_endpoint_shares_the_lockout_and_says_so(client, settings):
    cache.clear()  # the endpoint's own throttle must not answer first
    guesses = [
        client.post("/api/token/", {"username": "alice", "password": "a-wrong-guess"}).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert guesses == [400] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    response = client.post("/api/token/", {"username": "alice", "password": "alice-right-pw"})
    assert response.status_code == 429
    assert LOCKED in response.json()["detail"]
    assert "token" not in response.json()
    cache.clear()


def test_the_failed_attempts_are_kept_on_the_default_database():
    from axes.models import AccessAttempt

    assert router.db_for_write(AccessAttempt) == "default"
    assert router.allow_migrate_model("default", AccessAttempt)
    assert not router.allow_migrate_model("orders", AccessAttempt)
