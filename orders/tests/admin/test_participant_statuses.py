"""The saga page's Participants panel names each row's status in the reader's language."""

from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.placement import order_place
from payments.tests.factories import AccountFactory
from sagas.models import SagaStatus
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def completed(db):
    AccountFactory(customer="alice", balance=Decimal("1000.00"))
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="orchestration")
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    return saga


def _saga_page(saga, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff_user("operator", superuser=True))
    return unescape(client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode())


def test_the_panel_shows_each_participants_status_in_japanese(completed):
    html = _saga_page(completed, "ja")
    # The order approved, the payment captured, the reservation committed.
    for status in ("確定済み", "支払い済み", "引き渡し済み"):
        assert f"<td>{status}</td>" in html
    for code in ("APPROVED", "CAPTURED", "COMMITTED"):
        assert f"<td>{code}</td>" not in html


def test_the_panel_shows_the_statuses_labels_in_english(completed):
    html = _saga_page(completed, "en")
    for status in ("Approved", "Captured", "Committed"):
        assert f"<td>{status}</td>" in html
