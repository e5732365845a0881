"""The saga page and list: a saga is titled as a saga, and a finished one has no current step."""

import re

import pytest
from django.urls import reverse

from sagas.engine.definition import get_definition
from sagas.models import SagaStatus
from sagas.testing import toy
from sagas.tests.admin_support import staff_user, toy_row

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def root_client(client):
    client.force_login(staff_user("root", superuser=True))
    return client


def _field(page: str, name: str) -> str:
    found = re.search(rf'field-{name}">.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert found, name
    return found.group(1).strip()


def test_the_saga_page_is_titled_as_a_saga_of_its_definition(root_client):
    saga = toy.booked()
    page = root_client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    title = f"Saga {str(saga.pk)[:8]} ({get_definition(toy.NAME, 1).title})"
    assert f"<title>{title} |" in page
    assert re.search(rf"<h1>\s*{re.escape(title)}\s*</h1>", page)
    assert f"order {saga.pk}" not in page  # the old title that read like an order id


def test_a_completed_saga_shows_no_current_step_or_attempt(root_client):
    saga = toy.booked()
    assert saga.status == SagaStatus.COMPLETED
    page = root_client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    where = _field(page, "position")
    assert "attempt" not in where and "confirm_booking" not in where
    listing = root_client.get(reverse("admin:sagas_sagainstance_changelist")).content.decode()
    row = re.search(r'<td class="field-step">(.*?)</td>', listing).group(1)
    assert "(0)" not in row and "confirm_booking" not in row


def test_a_failed_saga_still_says_where_it_stopped(root_client):
    saga = toy_row(SagaStatus.FAILED, attempt=3)  # stopped at check_limit after 3 attempts
    page = root_client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    where = _field(page, "position")
    assert "check_limit" in where and "3" in where
    listing = root_client.get(reverse("admin:sagas_sagainstance_changelist")).content.decode()
    assert re.search(r'<td class="field-step">check_limit \(3\)</td>', listing)
