"""A user's saved language and time zone: read once per session, saved from the Preferences page
and the language switcher.

The middleware reads them on every request, so they are kept in the session (keyed by the user's
id) and read from the orders database only when the session has none for this user yet.
"""

import logging
import zoneinfo
from dataclasses import asdict, dataclass
from functools import cache

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import DatabaseError

from orders.models import Preference

SESSION_KEY = "_preference"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Choice:
    """What a user chose; an empty value means the default (the browser's language, the site's zone)."""

    language: str = ""
    time_zone: str = ""


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


# The zones the Preferences page offers are the ones named by a region and a city (Asia/Tokyo):
# not the old country aliases (Japan, US/Pacific, GB-Eire), the fixed offsets (Etc/GMT-9) or the
# system's own names (localtime, Factory). A zone saved before still counts (is_time_zone).
_REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
# Where a reader of a language most likely is: offered first.
_ZONES_OF_LANGUAGE = {"ja": ("Asia/Tokyo",)}


@cache
def offered_time_zones(language: str = "") -> tuple[str, ...]:
    """The zones to choose from: the reader's language's first, then UTC and every region's cities."""
    known = set(time_zones())
    first = tuple(name for name in _ZONES_OF_LANGUAGE.get(language.split("-")[0], ()) if name in known)
    cities = (name for name in time_zones() if name.split("/")[0] in _REGIONS and name not in first)
    return (*first, "UTC", *cities)


def is_language(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def is_time_zone(name: str) -> bool:
    return name in time_zones()


def _checked(choice: Choice) -> Choice:
    # A value that is no longer offered (a language removed from LANGUAGES) falls back to the default.
    return Choice(
        language=choice.language if is_language(choice.language) else "",
        time_zone=choice.time_zone if is_time_zone(choice.time_zone) else "",
    )


def choice_for(user_id: int, session: SessionBase | None = None) -> Choice:
    """The user's choice, from the session when it holds this user's, else from the database."""
    if session is not None:
        cached = session.get(SESSION_KEY)
        if isinstance(cached, dict) and cached.get("user_id") == user_id:
            return _checked(Choice(language=cached.get("language", ""), time_zone=cached.get("time_zone", "")))
    try:
        row = Preference.objects.filter(user_id=user_id).values("language", "time_zone").first()
    except DatabaseError:
        # The console must open while a participant's database is down, the day it matters most:
        # the defaults this once, and the saved choice on a later request.
        logger.warning("The saved preference of user %s could not be read; using the defaults.", user_id, exc_info=True)
        return Choice()
    choice = _checked(Choice(**row)) if row else Choice()
    if session is not None:
        _remember(session, user_id, choice)
    return choice


def choice_save(user_id: int, choice: Choice, session: SessionBase | None = None) -> Choice:
    """Save the user's choice (refusing values not offered) and keep it in their session."""
    if choice.language and not is_language(choice.language):
        raise ValueError(f"{choice.language!r} is not one of LANGUAGES.")
    if choice.time_zone and not is_time_zone(choice.time_zone):
        raise ValueError(f"{choice.time_zone!r} is not a time zone.")
    Preference.objects.update_or_create(
        user_id=user_id, defaults={"language": choice.language, "time_zone": choice.time_zone}
    )
    if session is not None:
        _remember(session, user_id, choice)
    return choice


def language_save(user_id: int, language: str, session: SessionBase | None = None) -> Choice:
    """Change only the language, keeping the saved time zone."""
    current = choice_for(user_id, session)
    return choice_save(user_id, Choice(language=language, time_zone=current.time_zone), session)


def _remember(session: SessionBase, user_id: int, choice: Choice) -> None:
    session[SESSION_KEY] = {"user_id": user_id, **asdict(choice)}


def remember_at_login(sender: object, request: object, user: object, **kwargs: object) -> None:
    """user_logged_in: read the user's choice into the new session now, so pages that follow
    (the console's, whose reads are counted) need no query on the orders database for it."""
    session = getattr(request, "session", None)
    if session is not None and getattr(user, "pk", None) is not None:
        choice_for(user.pk, session)
