"""A saga's business key as the admin shows it: named in its definition's words, linked where its app says.

The engine knows a business key only as an id. The app that owns a saga knows what it names
(an order, a booking) and where that object's page is, so it registers a link maker for its
definition from its AppConfig.ready() with `register_business_key_link`. A link maker only
builds a URL (a `reverse`, never a query): the saga list calls it once per row.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from sagas.admin.tools import saga_title
from sagas.engine.definition import get_definition, registered_names
from sagas.models import SagaInstance, status_code_name
from sagas.templatetags.localtime_named import local_time

# The URL of the business object a key names, or "" when it has no page to open.
KeyUrl = Callable[[Any], str]

# The saga page lists at most this many other sagas of one business key.
SAME_KEY_LIMIT = 20

_links: dict[str, KeyUrl] = {}


def register_business_key_link(definition_name: str, url_for: KeyUrl) -> None:
    """Link the business key of `definition_name`'s sagas to the page `url_for(key)` returns."""
    _links[definition_name] = url_for


def unregister_business_key_link(definition_name: str) -> None:
    """Forget a definition's link maker (for tests that register one of their own)."""
    _links.pop(definition_name, None)


def key_label(definition_name: str) -> str:
    """What a person calls the business key of that definition's sagas ("order"), or ""."""
    try:
        return str(get_definition(definition_name).business_key_label)
    except LookupError:
        return ""


def key_heading(definition_name: str | None = None) -> str:
    """The heading of a business key column: the definition's word for it when every saga shown
    shares one (one type filtered, or every registered definition using the same word)."""
    names = [definition_name] if definition_name else registered_names()
    labels = {key_label(name) for name in names}
    if len(labels) == 1 and (word := labels.pop()):
        return word
    return _("business key")


def business_key_link(saga: SagaInstance) -> str:
    """The saga's business key, short, linked to its object's page when the saga's app registered one."""
    if not saga.business_key:
        return "-"
    shown = str(saga.business_key)[:8]
    url_for = _links.get(saga.definition_name)
    url = url_for(saga.business_key) if url_for else ""
    if not url:
        return shown
    return format_html('<a href="{}">{}</a>', url, shown)


def sagas_sharing_key(saga: SagaInstance) -> QuerySet[SagaInstance]:
    """The other sagas acting on the same business object (one index read), oldest first."""
    if not saga.business_key:
        return SagaInstance.objects.none()
    return (
        SagaInstance.objects.filter(business_key=saga.business_key)
        .exclude(pk=saga.pk)
        .only("id", "definition_name", "definition_version", "status", "paused", "created_at")
        .order_by("created_at", "id")
    )


def sagas_sharing_key_html(saga: SagaInstance) -> str:
    """Each other saga of the same business key as a linked line: title, status, when it started."""
    if not saga.business_key:
        return "-"
    others = list(sagas_sharing_key(saga)[: SAME_KEY_LIMIT + 1])
    if not others:
        return _("none")
    shown = format_html_join(
        "",
        '<li><a href="{}">{}</a> {} ({})</li>',
        (
            (
                reverse("admin:sagas_sagainstance_change", args=[other.pk]),
                saga_title(other),
                status_code_name(other.status),
                _("started %(when)s") % {"when": local_time(other.created_at)},
            )
            for other in others[:SAME_KEY_LIMIT]
        ),
    )
    more = ""
    if len(others) > SAME_KEY_LIMIT:
        search = reverse("admin:sagas_sagainstance_changelist")
        more = format_html(
            '<li><a href="{}?q={}">{}</a></li>', search, saga.business_key, _("more: search the saga list")
        )
    return format_html('<ul class="saga-same-key" style="margin:0;padding-left:1.2em">{}{}</ul>', shown, more)
