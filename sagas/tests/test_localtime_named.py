"""The local_time filter: a moment in the active time zone, with the zone named."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone, translation

MOMENT = datetime(2026, 11, 29, 17, 4, 5, 123456, tzinfo=UTC)


def render(source: str, value: object = MOMENT) -> str:
    return Template("{% load localtime_named %}" + source).render(Context({"value": value}))


@pytest.mark.parametrize(
    ("style", "shown"),
    [
        ("", "2026-11-30 02:04:05 JST"),
        (':"short"', "2026-11-30 02:04 JST"),
        (':"time"', "02:04:05 JST"),
        (':"precise"', "2026-11-30 02:04:05.123 JST"),
    ],
)
def test_a_moment_is_shown_in_the_active_zone_with_its_name(style, shown):
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        assert render("{{ value|local_time" + style + " }}") == shown


def test_without_a_zone_of_its_own_the_site_zone_is_named(settings):
    assert render("{{ value|local_time }}") == "2026-11-29 17:04:05 UTC"


@pytest.mark.parametrize("language", ["en", "ja"])
def test_both_languages_write_the_same_iso_like_time(language):
    with translation.override(language), timezone.override(ZoneInfo("Asia/Tokyo")):
        assert render("{{ value|local_time }}") == "2026-11-30 02:04:05 JST"


def test_nothing_is_shown_for_a_missing_moment():
    assert render("[{{ value|local_time }}]", None) == "[]"


def test_an_unknown_style_is_a_template_error():
    with pytest.raises(TemplateSyntaxError):
        render('{{ value|local_time:"long" }}')
