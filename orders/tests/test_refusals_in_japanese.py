"""A participant's refusal is stored in English and read in the reader's language, values kept.

The worker that meets a refusal writes it in the site's language (English) into the saga's step
log and last error; the saga page, the order page and the API show its sentence in Japanese to a
reader who asks for Japanese, with the amounts and SKUs it names.
"""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.placement import order_place
from orders.tests.cancelling import fault
from payments.tests.factories import account_for
from sagas.models import SagaStatus
from sagas.participant.customers import customer_key
from sagas.testing.choreography import drain_events
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user

pytestmark = pytest.mark.django_db(databases="__all__")

JAPANESE = {"HTTP_ACCEPT_LANGUAGE": "ja"}
STORED = "Insufficient funds: 50.00 asked, 5.00 available."
SHOWN = "残高不足です: 請求額 50.00、利用可能額 5.00。"


@pytest.fixture
def refused(db):
    """An order of 2 x 25.00 by a customer with 5.00: the payment is refused and the saga compensated."""
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    customer = get_user_model().objects.create_user("dora", password=None)
    account_for(customer, "5.00")
    saga, _ = order_place(customer=customer_key(customer), sku="WIDGET-1", quantity=2, style="orchestration")
    drain()
    saga.refresh_from_db()
    return saga, customer


def test_the_refusal_is_stored_in_english(refused):
    saga, _ = refused
    assert saga.status == SagaStatus.COMPENSATED
    assert saga.last_error.endswith(STORED)


def test_the_saga_page_shows_the_refusal_in_japanese_with_its_values(refused):
    saga, _ = refused
    client = Client(**JAPANESE)
    client.force_login(staff_user("operator", superuser=True))
    html = unescape(client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode())
    # The last error and the step log's refused charge; the saga's context (raw JSON) keeps the stored words.
    last_error = re.search(r'<pre style="white-space:pre-wrap;margin:0">(.*?)</pre>', html, re.S).group(1)
    assert last_error == f"charge_payment: InsufficientFunds: {SHOWN}"
    assert html.count(SHOWN) >= 2


def test_the_api_gives_the_refusal_as_the_cancel_reason_in_japanese(refused):
    saga, customer = refused
    client = Client(**JAPANESE)
    client.force_login(customer)
    body = client.get(reverse("api:order-detail", args=[saga.business_key])).json()
    assert body["cancel_reason"] == SHOWN  # the sentence alone: no step or exception name
    assert body["status"] == "CANCELLED"  # the machine-readable code stays English


def test_the_order_page_shows_a_refusal_it_has_no_words_of_its_own_for_in_japanese(db, settings):
    # An insufficient balance has the shop's own words; a refusal planted by a fault rule has not,
    # so the page says what the service said.
    settings.FAULT_INJECTION = True
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    customer = get_user_model().objects.create_user("erin", password=None)
    account_for(customer, "1000.00")
    fault("payments.payment_charge", "refuse")
    saga, _ = order_place(customer=customer_key(customer), sku="WIDGET-1", quantity=2, style="orchestration")
    drain()
    client = Client(**JAPANESE)
    client.force_login(customer)

    html = unescape(client.get(reverse("order_detail", args=[saga.business_key])).content.decode())

    assert "「お支払い」が拒否されました: payments.payment_charge はフォールトルールにより拒否されました。" in html
    assert "refused by a fault rule" not in html


def test_a_choreographed_refusal_reads_in_japanese_in_the_api(db):
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    customer = get_user_model().objects.create_user("fay", password=None)
    account_for(customer, "5.00")
    saga, _ = order_place(customer=customer_key(customer), sku="WIDGET-1", quantity=2, style="choreography")
    drain_events()
    client = Client(**JAPANESE)
    client.force_login(customer)

    body = client.get(reverse("api:order-detail", args=[saga.business_key])).json()

    # The event that carried the refusal is not named: the customer reads its sentence.
    assert body["cancel_reason"] == SHOWN


def test_the_order_pages_outcome_runs_its_japanese_sentences_together(refused):
    saga, customer = refused
    client = Client(**JAPANESE)
    client.force_login(customer)
    html = unescape(client.get(reverse("order_detail", args=[saga.business_key])).content.decode())
    assert "お支払いが拒否されました: 残高が足りません。確保していた在庫を解放しました。" in html


def test_in_english_the_api_gives_the_refusal_as_stored(refused):
    saga, customer = refused
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(customer)
    body = client.get(reverse("api:order-detail", args=[saga.business_key])).json()
    assert body["cancel_reason"] == STORED
