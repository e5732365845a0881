"""Who a customer is: the user's id, never the username, which a later user may take.

Orders, payment accounts and sagas live on their own database aliases and cannot hold a
foreign key to the user table on `default`, so each stores a customer key: the user's
primary key as text. A primary key is never handed out twice (an AUTOINCREMENT column on
SQLite, a sequence on PostgreSQL), so a new user who picks a deleted user's name gets a new
key and none of the old orders or money, while the old rows stay for the audit.

Pages, the API and the commands still show and accept the username; this module is the one
place that turns one into the other. Every service below the adapters takes the key.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

# Rows whose user was already gone when keys replaced usernames keep the old name behind this
# prefix. A live key is all digits, so a marked row can never match a live user.
DELETED_PREFIX = "deleted:"
# Username (150) plus the prefix.
KEY_MAX_LENGTH = 160
# SQLite allows 999 variables per statement in older builds.
_CHUNK = 500


class UnknownCustomer(LookupError):
    """No user has the username that was given as a customer."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(_("No user is called %(name)r.") % {"name": username})


def customer_key(user: Any) -> str:
    """The key under which this user's orders, account and sagas are stored."""
    if getattr(user, "pk", None) is None:
        raise ValueError("Only a saved, logged-in user has a customer key.")
    return str(user.pk)


def customer_key_for_username(username: str) -> str:
    """The key of the user with this username; raises UnknownCustomer when there is none."""
    users = get_user_model()
    pk = users._default_manager.filter(**{users.USERNAME_FIELD: username}).values_list("pk", flat=True).first()
    if pk is None:
        raise UnknownCustomer(username)
    return str(pk)


def customer_names(keys: Iterable[str]) -> dict[str, str]:
    """The name to show for each key, read in one query per few hundred keys."""
    keys = set(keys)
    ids = {int(key) for key in keys if key.isdigit()}
    users = get_user_model()
    found: dict[str, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        rows = users._default_manager.filter(pk__in=ordered[start : start + _CHUNK])
        found.update((str(pk), name) for pk, name in rows.values_list("pk", users.USERNAME_FIELD))
    return {key: found.get(key) or _display_without_user(key) for key in keys}


def customer_name(key: str) -> str:
    """The name to show for one key: the user's current username, or what is known of a deleted user."""
    return customer_names([key])[key]


def _display_without_user(key: str) -> str:
    if key.startswith(DELETED_PREFIX):
        return _("%(name)s (deleted user)") % {"name": key.removeprefix(DELETED_PREFIX)}
    if key.isdigit():
        return _("deleted user #%(id)s") % {"id": key}
    # A key no user ever had: the benchmark's synthetic customers.
    return key


def customer_search_keys(term: str) -> list[str]:
    """The keys a search term may mean: the user with that username, a deleted user's old name, or a key."""
    term = term.strip()
    if not term:
        return []
    users = get_user_model()
    pks = users._default_manager.filter(**{users.USERNAME_FIELD: term}).values_list("pk", flat=True)
    return [term, f"{DELETED_PREFIX}{term}", *(str(pk) for pk in pks)]


# --- the migration from usernames to keys ----------------------------------------------------
# Used by the data migrations of orders, payments and sagas, with their historical models.


def username_keys(usernames: Iterable[str], users: Any) -> dict[str, str]:
    """For each username, its user's key, or the deleted marker when no such user exists."""
    names = sorted(set(usernames))
    found: dict[str, str] = {}
    for start in range(0, len(names), _CHUNK):
        rows = users.filter(username__in=names[start : start + _CHUNK]).values_list("username", "pk")
        found.update((name, str(pk)) for name, pk in rows)
    return {name: found.get(name, f"{DELETED_PREFIX}{name}") for name in names}


def key_usernames(keys: Iterable[str], users: Any) -> dict[str, str]:
    """The inverse, to undo the migration: each key back to its username."""
    keys = set(keys)
    ids = sorted(int(key) for key in keys if key.isdigit())
    found: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = users.filter(pk__in=ids[start : start + _CHUNK]).values_list("pk", "username")
        found.update((str(pk), name) for pk, name in rows)
    return {key: found.get(key, key.removeprefix(DELETED_PREFIX)) for key in keys}


def rewrite_column(rows: Any, mapping: dict[str, str], field: str = "customer") -> None:
    """Replace each old value of `field` by its new one, in two passes so no value is rewritten twice.

    A username such as "7" may become key "9" while user "9" becomes key "12": rewriting in one
    pass would move the first user's rows twice. The first pass marks every value with a
    character no username or key contains; the second removes the mark.
    """
    mapping = {old: new for old, new in mapping.items() if old != new}
    for old, new in mapping.items():
        rows.filter(**{field: old}).update(**{field: f"~{new}"})
    for new in set(mapping.values()):
        rows.filter(**{field: f"~{new}"}).update(**{field: new})
