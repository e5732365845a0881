"""Activates a logged-in user's saved language and time zone for their request.

It runs after LocaleMiddleware (which chose from the language cookie or Accept-Language) and
after authentication; a user without a saved choice keeps those and settings.TIME_ZONE.
"""

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from orders.preferences import choice_for


class PreferenceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            choice = choice_for(user.pk, request.session)
            if choice.language:
                translation.activate(choice.language)
                request.LANGUAGE_CODE = choice.language
            if choice.time_zone:
                timezone.activate(zoneinfo.ZoneInfo(choice.time_zone))
        try:
            return self.get_response(request)
        finally:
            # A worker thread serves other users next: never leave this one's zone active.
            timezone.deactivate()
