"""Logging in and out of the storefront: Django's views, saying why a login is asked for and that a logout worked."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

# Why a page sends a visitor to the login, by the name of the page they were sent from.
_LOGIN_REASONS = {
    "order_create": _("Please log in to place an order."),
    "order_list": _("Please log in to see your orders."),
    "order_detail": _("Please log in to see your order."),
}
_ANY_PAGE = _("Please log in to see that page.")


def login_reason(next_url: str) -> str:
    """What to tell a visitor sent to the login from `next_url`; empty when they came of their own accord."""
    if not next_url or not url_has_allowed_host_and_scheme(next_url, allowed_hosts=None):
        return ""
    try:
        name = resolve(next_url.split("?", 1)[0]).url_name
    except Resolver404:
        return ""
    return str(_LOGIN_REASONS.get(name or "", _ANY_PAGE))


class LoginView(auth_views.LoginView):
    """Django's login form, which says why it is shown when a page that needs a login sent the visitor here."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.request.method == "GET":
            context["login_reason"] = login_reason(self.request.GET.get(self.redirect_field_name, ""))
        return context


class LogoutView(auth_views.LogoutView):
    """Django's logout (POST only), followed by a message on the page it leads to."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            # After the session is flushed: the message travels in the new session or the cookie.
            messages.success(request, _("You have been logged out."))
        return response
