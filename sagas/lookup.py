"""Find a saga from the id a person types: a saga id or its business key, whole or its first characters.

People see short ids (the first 8 characters) in the shop, the saga list and the commands'
output, and they type those. The one resolver here serves every command and the admin, so
a prefix means the same everywhere. A prefix is answered by index range reads: the ids that
start with `9f3e` are exactly those between 9f3e0000-0000-… and 9f3effff-ffff-…, which holds
for PostgreSQL's uuid ordering and for the 32-character hex text SQLite stores alike.
"""

import string
import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas.engine.definition import business_key_name, get_definition
from sagas.errors import SagaNotFound
from sagas.models import SagaInstance

# Fewer characters match too many sagas to be worth a list; four already narrow a million to a few.
MIN_PREFIX = 4
UUID_HEX = 32
# How many candidates an ambiguous prefix names.
CANDIDATES_SHOWN = 5
_HEX = frozenset(string.hexdigits.lower())
ID_HELP = gettext_lazy(
    "A saga id or its business key (an order id for an order): the whole UUID, or its first 4 or more characters."
)


class MalformedSagaId(SagaNotFound):
    """The text cannot be a saga id or business key (or the start of one); the message says why."""


class SagaIdTooShort(MalformedSagaId):
    """Hex digits, but too few to pick a saga out of many."""


class AmbiguousSagaId(SagaNotFound):
    """Several sagas match the prefix; `candidates` lists some of them."""

    def __init__(self, message: str, candidates: list["SagaMatch"]) -> None:
        super().__init__(message)
        self.candidates = candidates


class MatchedBy(StrEnum):
    SAGA_ID = "saga id"
    BUSINESS_KEY = "business key"


@dataclass(frozen=True)
class IdPrefix:
    """The hex digits of an id or of its start, lower case, without dashes."""

    digits: str

    @property
    def whole(self) -> bool:
        return len(self.digits) == UUID_HEX

    @property
    def shown(self) -> str:
        """The prefix as people see ids: the whole UUID, or the digits typed with an ellipsis."""
        return str(uuid.UUID(self.digits)) if self.whole else f"{self.digits}\u2026"

    def bounds(self) -> tuple[uuid.UUID, uuid.UUID]:
        """The lowest and highest UUID that start with these digits."""
        padding = UUID_HEX - len(self.digits)
        return uuid.UUID(self.digits + "0" * padding), uuid.UUID(self.digits + "f" * padding)

    def condition(self, field: str) -> Q:
        """The ids in `field` that start with the prefix, as a range an index answers."""
        low, high = self.bounds()
        if self.whole:
            return Q(**{field: low})
        return Q(**{f"{field}__gte": low, f"{field}__lte": high})


@dataclass(frozen=True)
class SagaMatch:
    saga: SagaInstance
    matched_by: MatchedBy
    prefix: IdPrefix

    @property
    def kind(self) -> str:
        """What matched, in the saga definition's words: "saga id", "order id" or "business key"."""
        if self.matched_by is MatchedBy.SAGA_ID:
            return _("saga id")
        return business_key_name(self.saga.definition_name)

    @property
    def exact_saga_id(self) -> bool:
        """The saga's whole id was typed: nothing to explain."""
        return self.prefix.whole and self.matched_by == MatchedBy.SAGA_ID

    def describe(self) -> str:
        """E.g. "Saga 1a2b3c4d-… matched by order id prefix 9f3e…"."""
        kind = self.kind
        if self.prefix.whole:
            return _("Saga %(saga)s matched by %(kind)s %(id)s") % {
                "saga": self.saga.pk,
                "kind": kind,
                "id": self.prefix.shown,
            }
        return _("Saga %(saga)s matched by %(kind)s prefix %(prefix)s") % {
            "saga": self.saga.pk,
            "kind": kind,
            "prefix": self.prefix.shown,
        }


def id_prefix_parse(text: str) -> IdPrefix:
    """The id prefix in `text` (dashes and case ignored); MalformedSagaId if it cannot be one."""
    typed = (text or "").strip()
    try:
        return IdPrefix(uuid.UUID(typed).hex)  # also takes braces and urn:uuid: forms
    except ValueError:
        pass
    digits = typed.lower().replace("-", "")
    if not digits or not set(digits) <= _HEX:
        raise MalformedSagaId(
            _(
                "%(text)r is not a saga id or a business key: type its first %(min)d or more "
                "characters (0-9, a-f), as in 1a2b3c4d, or the whole UUID."
            )
            % {"text": typed, "min": MIN_PREFIX}
        )
    if len(digits) > UUID_HEX:
        raise MalformedSagaId(
            _("%(text)r is not a saga id or a business key: it is longer than a UUID.") % {"text": typed}
        )
    if len(digits) < MIN_PREFIX:
        raise SagaIdTooShort(
            _("%(text)r is too short to find a saga: type at least %(min)d characters of its saga id or business key.")
            % {"text": typed, "min": MIN_PREFIX}
        )
    return IdPrefix(digits)


def saga_id_condition(prefix: IdPrefix) -> Q:
    """The sagas whose own id or whose business key starts with the prefix."""
    return prefix.condition("pk") | prefix.condition("business_key")


def saga_matches(
    prefix: IdPrefix, limit: int = CANDIDATES_SHOWN + 1, among: QuerySet[SagaInstance] | None = None
) -> list[SagaMatch]:
    """Up to `limit` sagas (of `among`, else all) the prefix matches, each with what it matched, newest first.

    One query of two index range reads; no ORDER BY in SQL, so the planner never trades
    the range reads for a walk down the created_at index.
    """
    base = SagaInstance.objects.all() if among is None else among
    rows = base.filter(saga_id_condition(prefix)).order_by().defer("context")[:limit]
    matches = [
        SagaMatch(
            saga=saga,
            matched_by=MatchedBy.SAGA_ID if saga.pk.hex.startswith(prefix.digits) else MatchedBy.BUSINESS_KEY,
            prefix=prefix,
        )
        for saga in rows
    ]
    return sorted(matches, key=lambda match: match.saga.created_at, reverse=True)


def search_note(matches: list[SagaMatch], prefix: IdPrefix) -> str:
    """What a list search by `prefix` should tell the reader about the ids it matched ("" for nothing)."""
    if len(matches) == 1 and not matches[0].exact_saga_id:
        return matches[0].describe()
    if len(matches) > 1:
        return _("Several sagas have a saga id or a business key starting with %(prefix)s") % {"prefix": prefix.shown}
    return ""


def key_word(saga: SagaInstance) -> str:
    """The business key's name without "id" for a list line: "order", or "key"."""
    try:
        return get_definition(saga.definition_name).business_key_label or _("key")
    except LookupError:
        return _("key")


def saga_resolve(text: str) -> SagaMatch:
    """The one saga that `text` (a saga id or business key, or a unique start of one) names.

    MalformedSagaId for text that cannot be an id, SagaNotFound when nothing matches, and
    AmbiguousSagaId (naming a few candidates) when several sagas do.
    """
    prefix = id_prefix_parse(text)
    matches = saga_matches(prefix)
    if not matches:
        if prefix.whole:
            raise SagaNotFound(
                _("No saga with id %(id)s. No saga has that business key either.") % {"id": prefix.shown}
            )
        raise SagaNotFound(_("No saga id or business key starts with %(prefix)s.") % {"prefix": prefix.digits})
    if len(matches) > 1:
        shown = matches[:CANDIDATES_SHOWN]
        lines = [
            _("  saga %(saga)s (%(key_name)s %(key)s, %(status)s, %(kind)s matches)")
            % {
                "saga": match.saga.pk,
                "key_name": key_word(match.saga),
                "key": match.saga.business_key or "-",
                "status": match.saga.status,
                "kind": match.kind,
            }
            for match in shown
        ]
        if len(matches) > len(shown):
            lines.append(_("  and more"))
        heading = _("%(prefix)s matches several sagas; type more characters of the one you mean:") % {
            "prefix": prefix.digits
        }
        raise AmbiguousSagaId("\n".join([heading, *lines]), shown)
    return matches[0]
