"""Each service's idempotency records in the console, in the reader's language."""

from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.models import IdempotencyRecord
from orders.placement import order_place
from payments.tests.factories import AccountFactory
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def recorded(db):
    AccountFactory(customer="alice", balance=Decimal("1000.00"))
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    order_place(customer="alice", sku="WIDGET-1", quantity=1, style="orchestration")
    drain()
    return IdempotencyRecord.objects.using("orders").get(operation="order_create")


def _page(url: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(staff_user("operator", superuser=True))
    response = client.get(url)
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_the_record_list_names_its_columns_in_japanese(recorded):
    html = _page(reverse("admin:orders_idempotencyrecord_changelist"))
    for column in ("冪等キー", "操作", "結果区分", "作成日時"):
        assert column in html
    for english in (">Key<", ">Operation<", ">Outcome<", ">Created at<"):
        assert english not in html


def test_a_record_is_titled_with_its_outcome_in_japanese(recorded):
    html = _page(reverse("admin:orders_idempotencyrecord_change", args=[recorded.pk]))
    assert f"order_create {recorded.key} (適用済み)" in html
    assert "(APPLIED)" not in html
