"""The Preferences page offers the zones named by a region and a city, the reader's own first."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from orders.models import Preference
from orders.preferences import Choice, choice_save

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("zoe", password=None)


def _zones(user, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    html = client.get(reverse("preferences")).content.decode()
    select = re.search(r'<select name="time_zone".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"', select)


def test_a_japanese_reader_finds_tokyo_first(user):
    assert _zones(user, "ja")[:3] == ["", "Asia/Tokyo", "UTC"]


def test_old_aliases_and_system_names_are_not_offered(user):
    zones = _zones(user, "en")
    assert "Europe/London" in zones and "America/Los_Angeles" in zones
    for name in ("US/Pacific", "GB-Eire", "Japan", "localtime", "Factory", "Etc/GMT-9"):
        assert name not in zones


def test_a_zone_saved_before_stays_chosen_and_saving_keeps_it(user):
    choice_save(user.pk, Choice(time_zone="US/Pacific"))
    assert "US/Pacific" in _zones(user, "en")
    client = Client()
    client.force_login(user)
    client.post(reverse("preferences"), {"language": "", "time_zone": "US/Pacific"})
    assert Preference.objects.using("orders").get(user_id=user.pk).time_zone == "US/Pacific"
