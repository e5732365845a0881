"""The shop in Japanese: a customer whose browser asks for Japanese reads the order page, the
order form's errors, a refusal, the cancel confirmation and the API's `detail` in Japanese, while
the API's machine-readable `code` stays English."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.forms import new_form_token
from orders.placement import order_place
from orders.tests.support.api import make_user
from payments.tests.factories import account_for
from sagas.participant.customers import customer_key
from sagas.testing.drain import drain
from sagas.tests.api_helpers import token_client

pytestmark = pytest.mark.django_db(databases="__all__")

JAPANESE = {"HTTP_ACCEPT_LANGUAGE": "ja"}


@pytest.fixture
def widget(db):
    return ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)


@pytest.fixture
def alice(widget):
    user = get_user_model().objects.create_user("alice", password=None)
    account_for(user, "1000.00")
    return user


@pytest.fixture
def client(alice):
    client = Client(**JAPANESE)
    client.force_login(alice)
    return client


def placed(user):
    saga, _ = order_place(customer=customer_key(user), sku="WIDGET-1", quantity=2)
    drain()
    saga.refresh_from_db()
    return saga


def test_the_order_page_reads_in_japanese(client, alice):
    saga = placed(alice)
    html = client.get(reverse("order_detail", args=[saga.business_key])).content.decode()
    assert '<html lang="ja">' in html
    assert "ご注文が確定しました: Widget \N{MULTIPLICATION SIGN} 2、お支払い $50.00。" in html
    assert "注文の作成" in html and "在庫の確保" in html and "お支払い" in html
    assert "概要" in html and "数量" in html and "注文のステータス" in html
    assert "Your order is confirmed" not in html and "Summary" not in html


def test_the_order_forms_errors_read_in_japanese(client):
    empty = client.post(reverse("order_create"), {"sku": "", "quantity": "", "token": new_form_token()})
    html = empty.content.decode()
    assert "商品を選んでください。" in html and "ご希望の数量を入力してください。" in html
    assert "<h1>注文する</h1>" in html and "注文を確定する" in html

    data = {"sku": "WIDGET-1", "quantity": "2001", "style": "orchestration", "token": new_form_token()}
    too_many = client.post(reverse("order_create"), data)
    assert "1 回の注文は 1000 個までです。" in too_many.content.decode()


def test_a_refusal_reads_in_japanese(client, alice, settings):
    saga = placed(alice)
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 0
    followed = client.get(reverse("order_cancel", args=[saga.business_key]), follow=True)
    [message] = [str(message) for message in followed.context["messages"]]
    assert message.startswith("この注文はもうキャンセルできません。キャンセルできたのは ")


def test_the_cancel_confirmation_reads_in_japanese(client, alice):
    saga = placed(alice)
    html = client.get(reverse("order_cancel", args=[saga.business_key])).content.decode()
    assert "をキャンセルしますか?</h1>" in html and "注文を維持する" in html
    assert "Widget \N{MULTIPLICATION SIGN} 2、合計 $50.00" in html
    assert "在庫に戻る商品: 2 \N{MULTIPLICATION SIGN} Widget。" in html
    assert "$50.00 がお客様のアカウントに返金されます。" in html
    assert "キャンセルの理由 (任意)" in html
    assert "Keep my order" not in html and "is refunded to your account" not in html


def test_the_apis_detail_is_japanese_and_its_code_english(alice, settings):
    saga = placed(alice)
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 0
    api = token_client(alice)
    response = api.post(
        f"/api/orders/{saga.business_key}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="late", **JAPANESE
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "window_passed"
    assert body["detail"].startswith("この注文はもうキャンセルできません。")


def test_the_apis_not_found_detail_is_japanese(widget):
    api = token_client(make_user("bob", account=Decimal("10.00")))
    response = api.get(f"/api/orders/{uuid.uuid4()}/", **JAPANESE)
    assert response.status_code == 404
    assert response.json()["detail"] == "その注文はありません。"
