"""saga_status names a saga's business key in its definition's words and its party by name, for any saga."""

import dataclasses
import io
import json
import uuid

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from sagas.engine import definition
from sagas.participant.customers import customer_key
from sagas.services import saga_start
from sagas.testing import toy

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def keyed_toy(monkeypatch):
    """The toy saga under another name, whose definition calls its business key a "booking"."""
    keyed = dataclasses.replace(toy.TOY_SAGA, name="toy_keyed", business_key_label="booking")
    monkeypatch.setitem(definition._registry, (keyed.name, keyed.version), keyed)
    return keyed


def status(saga, *args: str) -> str:
    out = io.StringIO()
    call_command("saga_status", str(saga.pk), *args, stdout=out)
    return out.getvalue()


def test_a_saga_whose_definition_names_its_key_shows_it_by_that_name_and_its_party_by_username(keyed_toy):
    key = uuid.uuid4()
    erin = User.objects.create_user("erin")
    saga, _ = saga_start(keyed_toy.name, {"units": 1}, business_key=key, party=customer_key(erin))

    assert f"booking id {key}  party erin" in status(saga).splitlines()


def test_a_saga_without_a_word_for_its_key_shows_a_business_key_and_no_party():
    key = uuid.uuid4()
    saga, _ = saga_start(toy.NAME, {"units": 1}, business_key=key)

    assert f"business key {key}  party -" in status(saga).splitlines()


def test_the_json_names_the_key_and_the_party_in_the_same_words(keyed_toy):
    key = uuid.uuid4()
    erin = User.objects.create_user("erin")
    saga, _ = saga_start(keyed_toy.name, {"units": 1}, business_key=key, party=customer_key(erin))

    shown = json.loads(status(saga, "--json"))

    assert (shown["business_key"], shown["business_key_name"], shown["party"]) == (str(key), "booking id", "erin")
