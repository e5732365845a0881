"""Users, clients and requests shared by the API tests."""

import json
import urllib.error
import urllib.request
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def permissions(names: tuple[str, ...]) -> list[Permission]:
    """The permissions named `app_label.codename`, or a bare codename in the sagas app."""
    found = []
    for name in names:
        app_label, _, codename = name.rpartition(".")
        found.append(Permission.objects.get(content_type__app_label=app_label or "sagas", codename=codename))
    return found


def make_user(username: str, *, staff: bool = False, perms: tuple[str, ...] = ()):
    """A login; `perms` as `permissions` takes them."""
    # No password: hashing one costs a good part of a second, and these tests log in by token or force_login.
    user = get_user_model().objects.create_user(username, password=None, is_staff=staff)
    if perms:
        user.user_permissions.add(*permissions(perms))
    return user


def token_client(user: Any) -> APIClient:
    """A client that authenticates with the user's API token."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def http(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """A real HTTP request; (status, headers, decoded JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, response_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, dict(error.headers), error.read()
    return status, response_headers, json.loads(raw) if raw else None
