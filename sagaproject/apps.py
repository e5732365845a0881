"""The project's configurations of third-party apps, where their own leave a reader's text out."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy


class LoginLockoutsConfig(AxesAppConfig):
    """django-axes under a translatable name: the app has none, so the console's section read "Axes"."""

    verbose_name = gettext_lazy("Login lockouts")
