"""The admin shows a saga's business key in its definition's words, linked where the saga's app says,
and the saga page lists the other sagas acting on the same business object."""

import dataclasses
import html
import re
import uuid

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sagas.admin import business_keys
from sagas.engine import definition
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user

pytestmark = pytest.mark.django_db(databases="__all__")

BOOKING_URL = "/bookings/{}/"


@pytest.fixture
def admin(client):
    client.force_login(staff_user("root", superuser=True))
    return client


@pytest.fixture
def booking_links():
    """The toy saga's app, as an owning app would, links its key to a page of its own."""
    business_keys.register_business_key_link(toy.NAME, lambda key: BOOKING_URL.format(key))
    yield
    business_keys.unregister_business_key_link(toy.NAME)


@pytest.fixture
def keyed_toy(monkeypatch):
    """The toy saga under another name, whose definition calls its business key a "booking"."""
    keyed = dataclasses.replace(toy.TOY_SAGA, name="toy_keyed", business_key_label="booking")
    monkeypatch.setitem(definition._registry, (keyed.name, keyed.version), keyed)
    return keyed


def book(units: int = 1, key: uuid.UUID | None = None, name: str = toy.NAME):
    saga, _ = saga_start(name, {"units": units}, business_key=key, party="42")
    return saga


def text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def list_page(client, **params) -> str:
    return client.get(reverse("admin:sagas_sagainstance_changelist"), params).content.decode()


def test_the_list_links_each_business_key_to_the_page_its_app_registered(admin, booking_links):
    key = uuid.uuid4()
    book(key=key)

    page = list_page(admin)

    assert f'<a href="{BOOKING_URL.format(key)}">{str(key)[:8]}</a>' in page


def test_a_business_key_whose_app_registered_no_link_shows_as_text(admin):
    key = uuid.uuid4()
    book(key=key)

    page = list_page(admin)

    assert re.search(rf'<td class="field-business_key">{str(key)[:8]}</td>', page)


def test_the_key_column_is_headed_by_the_definition_word_when_one_type_is_shown(admin, keyed_toy):
    book(name=keyed_toy.name, key=uuid.uuid4())

    headed = text(list_page(admin, type=keyed_toy.name))
    mixed = text(list_page(admin))

    assert "Booking" in headed and "Business key" not in headed
    assert "Business key" in mixed


def test_the_list_reads_no_row_more_for_more_sagas_with_linked_keys(admin, booking_links):
    def queries() -> int:
        with CaptureQueriesContext(connections["default"]) as captured:
            assert admin.get(reverse("admin:sagas_sagainstance_changelist")).status_code == 200
        return len(captured)

    book(key=uuid.uuid4())
    few = queries()
    for _ in range(10):
        book(key=uuid.uuid4())

    assert queries() == few


def test_the_saga_page_lists_and_links_the_other_sagas_of_its_business_key(admin, keyed_toy):
    key = uuid.uuid4()
    first = book(key=key)
    second = book(units=toy.LIMIT + 1, key=key, name=keyed_toy.name)
    unrelated = book(key=uuid.uuid4())
    drain()

    page = admin.get(reverse("admin:sagas_sagainstance_change", args=[first.pk])).content.decode()

    shown = re.search(r'<ul class="saga-same-key"[^>]*>(.*?)</ul>', page, re.S).group(1)
    assert reverse("admin:sagas_sagainstance_change", args=[second.pk]) in shown
    assert f"Saga {str(second.pk)[:8]} (toy booking) COMPENSATED" in text(shown)
    assert str(first.pk)[:8] not in shown and str(unrelated.pk)[:8] not in shown
    assert f"Booking: {str(key)[:8]}" not in text(page)  # the first is a toy saga: its key has no word


def test_the_saga_page_names_the_key_in_its_definitions_words(admin, keyed_toy):
    key = uuid.uuid4()
    saga = book(key=key, name=keyed_toy.name)

    page = text(admin.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode())

    assert f"Booking: {str(key)[:8]}" in page
    assert "Other sagas of this key: none" in page


def test_a_saga_without_a_business_key_lists_no_other_saga(admin):
    book()
    saga = book()

    page = text(admin.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode())

    assert "Business key: -" in page and "Other sagas of this key: -" in page
