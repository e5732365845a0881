"""The admin writes every date and time one way: 2026-11-29 13:30:28, never "Nov. 29, 2026, 1:30 p.m."."""

import re

import pytest
from django.urls import reverse

from orders.tests.support.sagas import placed
from sagas.tests.admin_support import staff_user
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\b")
# Django's default English formats: "Nov. 29, 2026, 1:30 p.m.", "Nov. 29, 2026", "1:30 p.m.".
# A date without its year, "11-29 13:30:28", as the overview once wrote it.
SHORT = re.compile(r"(?<!\d{4}-)\b\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
OTHER = re.compile(r"\b(?:Jan|Feb|March|April|May|June|July|Aug|Sept|Oct|Nov|Dec)\.? \d{1,2}, \d{4}|\b[ap]\.m\.")


def visible_text(html: str) -> str:
    """The page as read, without markup or attribute values (a title may carry its own format)."""
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def operator(client):
    client.force_login(staff_user("root", superuser=True))
    return client


def test_a_saga_page_shows_its_own_times_and_its_step_log_in_one_format(shop, operator):
    saga = placed()
    text = visible_text(operator.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode())
    assert not OTHER.findall(text)
    created = saga.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert created in text, "the Timing section shows created_at the way the step log does"
    assert len(ISO.findall(text)) >= 3


@pytest.mark.parametrize("page", ["admin:sagas_sagainstance_changelist", "admin:orders_order_changelist"])
def test_admin_lists_show_times_in_the_same_format(shop, operator, page):
    placed()
    text = visible_text(operator.get(reverse(page)).content.decode())
    assert not OTHER.findall(text)


def test_the_overview_dates_its_frequent_errors_and_stuck_sagas_like_every_other_page(shop, operator):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient")
    placed()
    text = visible_text(operator.get(reverse("admin:sagas_overview")).content.decode())
    assert ISO.findall(text), "the frequent errors are dated"
    assert not SHORT.findall(text), "no date without its year"
    assert not OTHER.findall(text)
