"""A Japanese reader in a real browser (Accept-Language: ja): a customer places, follows and cancels
an order; an operator opens the console's overview and the saga's page. Every heading and button
checked is the Japanese catalogue's, never the English. Screenshots: artifacts/ja-*.png.
"""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from inventory.tests.factories import ProductFactory
from orders.tests.support.sagas import placed
from payments.tests.factories import account_for
from sagas.models import SagaInstance
from sagas.participant.customers import customer_key
from sagas.testing.browser import artifacts_dir, chromium_browser
from sagas.testing.cluster import WorkerCluster
from sagas.testing.connections import close_dead_connections
from sagas.tests.admin_support import staff_user

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

SHOTS = artifacts_dir()
PASSWORD = "demo-pass-123"


def ja(text: str) -> str:
    """The Japanese the page must show for an English msgid; fails when there is none."""
    with translation.override("ja"):
        translated = translation.gettext(text)
    assert translated != text, f"no Japanese translation for {text!r}"
    return translated


@pytest.fixture
def browser(monkeypatch):
    yield from chromium_browser(monkeypatch)


@pytest.fixture
def japanese(browser):
    context = browser.new_context(
        locale="ja-JP", extra_http_headers={"Accept-Language": "ja"}, viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


@pytest.fixture
def alice(db, live_server, japanese):
    # Set up after the server and the browser: in the full run a cut connection was found here.
    close_dead_connections()
    user = get_user_model().objects.create_user("alice", password=PASSWORD)
    account_for(user, "100.00")
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    return user


def log_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=ja("Log in")).click()


def wait_for_headline(page, text: str) -> None:
    page.wait_for_function(
        "text => document.querySelector('[data-field=headline]').textContent.trim() === text", arg=text, timeout=60_000
    )


def test_a_japanese_customer_places_follows_and_cancels_an_order(live_server, japanese, alice):
    from playwright.sync_api import expect

    page = japanese.new_page()
    log_in(page, live_server.url + reverse("login"), "alice")
    page.wait_for_url(live_server.url + reverse("catalog"))
    assert page.locator("html").get_attribute("lang") == "ja"
    expect(page.get_by_role("link", name=ja("Catalog"), exact=True)).to_be_visible()
    page.screenshot(path=SHOTS / "ja-catalog.png", full_page=True)

    with WorkerCluster(workers=1):
        page.goto(live_server.url + reverse("order_create") + "?sku=WIDGET-1")
        page.fill("#id_quantity", "2")
        page.screenshot(path=SHOTS / "ja-order-form.png", full_page=True)
        page.get_by_role("button", name=ja("Place order")).click()
        page.wait_for_url("**/orders/*-*/")
        order_url = page.url
        wait_for_headline(page, ja("Completed"))
        page.wait_for_timeout(500)  # the progress bar eases in over 0.3 s
        page.screenshot(path=SHOTS / "ja-order-completed.png", full_page=True)

        page.get_by_role("link", name=ja("Cancel order")).click()
        page.wait_for_url("**/cancel/")
        expect(page.locator("[data-field=plan-path]")).to_have_text(
            ja("It is confirmed: a cancellation refunds you and puts the items back in stock.")
        )
        page.screenshot(path=SHOTS / "ja-order-cancel.png", full_page=True)
        page.get_by_role("button", name=ja("Cancel order")).click()
        page.wait_for_url(order_url)
        wait_for_headline(page, ja("Cancelled"))
        page.wait_for_timeout(500)  # the progress bar eases in over 0.3 s
        page.screenshot(path=SHOTS / "ja-order-cancelled.png", full_page=True)

    page.goto(live_server.url + reverse("order_list"))
    expect(page.locator("h1")).to_have_text(ja("My orders"))
    expect(page.locator(".order-row")).to_contain_text(ja("Cancelled"))


def test_a_japanese_operator_reads_the_overview_and_a_saga_page(live_server, japanese, alice):
    from playwright.sync_api import expect

    staff_user("root", superuser=True, password=PASSWORD)
    saga: SagaInstance = placed(customer=customer_key(alice))
    page = japanese.new_page()
    log_in(page, live_server.url + reverse("admin:login"), "root")
    page.wait_for_url(live_server.url + reverse("admin:index"))
    assert page.locator("html").get_attribute("lang") == "ja"
    # The product's name stays as it is; the console's title is translated.
    expect(page.locator("h1")).to_have_text(ja("Saga operations console"))

    page.goto(live_server.url + reverse("admin:sagas_overview"))
    expect(page.get_by_role("heading", name=ja("Sagas by status now"))).to_be_visible()
    page.screenshot(path=SHOTS / "ja-console-overview.png", full_page=True)

    page.goto(live_server.url + reverse("admin:sagas_sagainstance_change", args=[saga.pk]))
    expect(page.get_by_role("heading", name=ja("Timeline"))).to_be_visible()
    expect(page.get_by_role("heading", name=ja("Step log"))).to_be_visible()
    page.screenshot(path=SHOTS / "ja-console-saga.png", full_page=True)
