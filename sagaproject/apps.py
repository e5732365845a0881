"""The project's configurations of third-party apps, where their own leave a reader's text out."""

from typing import Any

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext, gettext_lazy


def _when(row: Any) -> str:
    """The row's time in the reader's zone, named, as every time on the console."""
    from sagas.templatetags.localtime_named import local_time  # an app module: loaded after the registry

    return local_time(row.attempt_time)


def _attempt(row: Any) -> str:
    return gettext("Login attempts at %(when)s") % {"when": _when(row)}


def _failure(row: Any) -> str:
    text = gettext("Failed login by %(user)s from %(address)s at %(when)s")
    if row.locked_out:
        text = gettext("Failed login by %(user)s from %(address)s at %(when)s, locked out")
    return text % {"user": row.username, "address": row.ip_address, "when": _when(row)}


def _log(row: Any) -> str:
    return gettext("Login of %(user)s at %(when)s") % {"user": row.username, "when": _when(row)}


class LoginLockoutsConfig(AxesAppConfig):
    """django-axes under a translatable name: the app has none, so the console's section read "Axes"."""

    verbose_name = gettext_lazy("Login lockouts")

    def ready(self) -> None:
        super().ready()
        # axes names its rows in English with a raw UTC timestamp ("Access Log for admin @
        # 2026-11-29 20:38:25.860542+00:00"), and the console shows that name in its titles and
        # breadcrumbs; the rows are named here in the reader's language and zone instead.
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        AccessAttempt.__str__ = _attempt
        AccessFailureLog.__str__ = _failure
        AccessLog.__str__ = _log
