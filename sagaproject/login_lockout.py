"""django-axes' two hooks: the client address it counts failed logins by, and the lockout answer.

The address follows the API throttles' rule (NUM_PROXIES), so both see the same client. The
answer is a 429 that says what happened and for how long: a page for the storefront and the
admin, JSON for the API.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    """The client's address: the socket's peer, or X-Forwarded-For as NUM_PROXIES proxies wrote it."""
    return BaseThrottle().get_ident(request)


def lockout_message() -> str:
    """Why the login is refused, and for how long."""
    minutes = max(int(settings.AXES_COOLOFF_TIME.total_seconds() // 60), 1)
    return ngettext(
        "Too many failed logins for this username from your address. Logging in is refused for "
        "%(minutes)d minute, even with the right password; try again after that, or ask staff to unlock it.",
        "Too many failed logins for this username from your address. Logging in is refused for "
        "%(minutes)d minutes, even with the right password; try again after that, or ask staff to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """The answer to a login attempt that django-axes refused (AXES_LOCKOUT_CALLABLE)."""
    message = lockout_message()
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)
