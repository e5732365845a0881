"""A customer in a real browser places an order, cancels it from its page and watches the refund come back.

Drives Debian's chromium through Playwright against the live test server, with a real worker
cluster running both sagas. Screenshots go to artifacts/.
"""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from inventory.tests.factories import ProductFactory
from orders.placement import order_place
from payments.models import CustomerAccount
from payments.tests.factories import account_for
from sagas.participant.customers import customer_key
from sagas.testing.browser import artifacts_dir, chromium_browser
from sagas.testing.cluster import WorkerCluster
from sagas.testing.drain import drain

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

SHOTS = artifacts_dir()
# The page sets nothing by this name; it survives only while no navigation or reload happens.
MARKER = "window.__stillTheSamePage"


@pytest.fixture
def browser(monkeypatch):
    yield from chromium_browser(monkeypatch)


@pytest.fixture
def alice(db):
    user = get_user_model().objects.create_user("alice", password="demo-pass-123")
    account_for(user, "100.00")
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    return user


def wait_for_headline(page, text: str) -> None:
    page.wait_for_function(
        "text => document.querySelector('[data-field=headline]').textContent.trim() === text", arg=text, timeout=60_000
    )


def balance(user) -> Decimal:
    return CustomerAccount.objects.using("payments").get(customer=customer_key(user)).balance


def test_a_customer_cancels_a_confirmed_order_from_its_page_and_sees_the_refund(live_server, browser, alice):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "demo-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")

    with WorkerCluster(workers=1):
        page.goto(f"{live_server.url}/orders/new/?sku=WIDGET-1")
        page.fill("#id_quantity", "2")
        page.get_by_role("button", name="Place order").click()
        page.wait_for_url("**/orders/*-*/")
        order_url = page.url
        page.evaluate(f"{MARKER} = true")

        # Once the order is confirmed the page, never reloaded, still offers the button.
        wait_for_headline(page, "Completed")
        assert page.evaluate(MARKER) is True, "the order page reloaded or navigated"
        button = page.get_by_role("link", name="Cancel order")
        expect(button).to_be_visible()
        assert balance(alice) == Decimal("50.00")
        page.screenshot(path=SHOTS / "storefront-cancel-offered.png", full_page=True)

        button.click()
        page.wait_for_url("**/cancel/")
        expect(page.locator("[data-field=plan-refund]")).to_have_text("$50.00 is refunded to your account.")
        expect(page.locator("[data-field=plan-stock]")).to_have_text(
            "These go back in stock: 2 \N{MULTIPLICATION SIGN} Widget."
        )
        expect(page.locator("[data-field=plan-deadline]")).to_contain_text("You can cancel until")
        page.fill("#id_reason", "Bought the wrong size")
        page.screenshot(path=SHOTS / "storefront-cancel-confirm.png", full_page=True)
        page.get_by_role("button", name="Cancel order").click()

        page.wait_for_url(order_url)
        expect(page.locator(".message--success")).to_contain_text("We are cancelling your order")
        page.evaluate(f"{MARKER} = true")
        wait_for_headline(page, "Cancelled")
        assert page.evaluate(MARKER) is True, "the order page reloaded or navigated"
        expect(page.locator("[data-field=outcome]")).to_have_text(
            "Your order is cancelled. $50.00 was refunded to you. Back in stock: 2 \N{MULTIPLICATION SIGN} Widget."
        )
        expect(page.locator(".step--done")).to_have_count(4)
        expect(page.locator("[data-field=order-status]")).to_have_text("Cancelled")
        expect(page.get_by_role("link", name="Cancel order")).to_be_hidden()
        expect(page.locator("[data-field=headline]")).to_have_class(re.compile(r"status--compensated"))
        expect(page.locator(".bar")).to_have_attribute("aria-valuenow", "100")
        page.wait_for_timeout(500)  # the bar's width eases in over 0.3 s
        page.screenshot(path=SHOTS / "storefront-cancel-refunded.png", full_page=True)
    assert balance(alice) == Decimal("100.00")

    page.goto(f"{live_server.url}/orders/")
    expect(page.locator(".order-row")).to_have_count(1)
    expect(page.locator(".order-row")).to_contain_text("Cancelled")


def test_without_javascript_a_customer_cancels_and_the_page_reloads_itself_to_the_refund(live_server, browser, alice):
    from playwright.sync_api import expect

    saga, _ = order_place(customer=customer_key(alice), sku="WIDGET-1", quantity=1)
    drain()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "demo-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/orders/{saga.business_key}/")

    page.get_by_role("link", name="Cancel order").click()
    expect(page.locator("[data-field=plan-refund]")).to_have_text("$25.00 is refunded to your account.")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator("[data-field=headline]")).to_have_text("Cancelling your order…")

    drain()  # the workers' part, in this process; the page's <noscript> refresh shows the result
    expect(page.locator("[data-field=headline]")).to_have_text("Cancelled", timeout=10_000)
    expect(page.locator("[data-field=outcome]")).to_contain_text("25.00 was refunded to you.")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    page.screenshot(path=SHOTS / "storefront-cancel-no-javascript.png", full_page=True)
