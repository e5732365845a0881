"""The participants' rows behind a saga, each read by a panel provider its own app registers.

Each participant lives on its own database; one that cannot be reached during an incident
shows as unavailable instead of taking the saga page down with it. A participant registers
its provider from its AppConfig.ready() with `register_panel`; the engine never imports it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from sagas.models import SagaInstance

logger = logging.getLogger("sagas.admin")


@dataclass
class ParticipantRows:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def admin_url(app_label: str, model_name: str, pk: Any) -> str:
    """The admin change page of a row, or "" when that model has no admin."""
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def _collect(name: str, fetch: Callable[[], list[dict[str, Any]]]) -> ParticipantRows:
    try:
        return ParticipantRows(name, fetch())
    except DatabaseError as error:
        logger.warning("admin could not read %s: %s", name, error)
        return ParticipantRows(
            name,
            error=_("The %(name)s database could not be read: %(error)s") % {"name": str(name).lower(), "error": error},
        )


# A provider gives the panel rows of one participant for a saga: dicts with label, status, detail, url.
PanelRows = Callable[[SagaInstance], list[dict[str, Any]]]

_panels: dict[str, PanelRows] = {}


def register_panel(name: str, rows: PanelRows) -> None:
    """Show `name`'s rows on every saga page, read by `rows` (call from the participant's ready())."""
    _panels[name] = rows


def participants_of(saga: SagaInstance) -> list[ParticipantRows]:
    """The rows each registered participant keeps for the saga, each with its admin link."""
    if not saga.business_key:
        return []
    return [_collect(name, lambda rows=rows: rows(saga)) for name, rows in _panels.items()]
