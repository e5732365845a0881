"""The admin shows a saga no business app defines: the toy booking's page, with its label and step log."""

import html
import re

import pytest
from django.urls import reverse

from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_toy_saga_page_is_titled_by_its_label_and_lists_each_step_it_ran(client):
    saga, _ = saga_start(toy.NAME, {"units": toy.LIMIT + 1})
    drain()
    client.force_login(staff_user("root", superuser=True))

    response = client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    title = f"Saga {str(saga.pk)[:8]} (toy booking)"
    assert re.search(rf"<h1>\s*{re.escape(title)}\s*</h1>", page)
    text = _text(page)
    assert "Status: COMPENSATED" in text
    step_log = text[text.index("Step log") :]
    assert re.search(
        r"book_units Forward 1 Succeeded .*"
        r"check_limit Forward 1 Refused \(business\) .* check_limit: TooManyUnits: At most 5 units\. "
        r"book_units Compensation 1 Succeeded",
        step_log,
    )


def _text(page: str) -> str:
    """The page as a person reads it: tags and scripts gone, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_saga_list_finds_toy_sagas_by_their_type(client):
    saga, _ = saga_start(toy.NAME, {"units": 1})
    drain()
    client.force_login(staff_user("root", superuser=True))

    page = client.get(reverse("admin:sagas_sagainstance_changelist"), {"definition_name": toy.NAME}).content.decode()

    assert str(saga.pk)[:8] in page
