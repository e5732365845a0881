"""A customer in a real browser: log in, place orders, and watch them finish on a page that never reloads.

Drives Debian's chromium through Playwright against the live test server, with a real worker
cluster running the sagas. Screenshots go to artifacts/.
"""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from inventory.tests.factories import ProductFactory
from payments.tests.factories import account_for
from sagas.testing.browser import artifacts_dir, chromium_browser
from sagas.testing.cluster import WorkerCluster

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

SHOTS = artifacts_dir()
# The page sets nothing by this name; it survives only while no navigation or reload happens.
MARKER = "window.__stillTheSamePage"


@pytest.fixture
def browser(monkeypatch):
    yield from chromium_browser(monkeypatch)


@pytest.fixture
def shop():
    account_for(get_user_model().objects.create_user("alice", password="demo-pass-123"), "100.00")
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    ProductFactory(sku="GADGET-1", name="Gadget", unit_price=Decimal("120.00"), stock_on_hand=5)


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "demo-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def place_order(page, base_url: str, sku: str, quantity: int) -> None:
    page.goto(f"{base_url}/orders/new/?sku={sku}")
    page.fill("#id_quantity", str(quantity))
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url("**/orders/*-*/")
    page.evaluate(f"{MARKER} = true")


def wait_for_headline(page, text: str) -> None:
    page.wait_for_function(
        "text => document.querySelector('[data-field=headline]').textContent.trim() === text", arg=text, timeout=60_000
    )


def test_a_customer_watches_one_order_complete_and_another_get_undone_without_reloading(live_server, browser, shop):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url)
    expect(page.locator(".product", has_text="Widget")).to_contain_text("25.00")
    page.screenshot(path=SHOTS / "storefront-catalog.png", full_page=True)

    # No worker runs yet: the page shows the order being placed and keeps polling.
    place_order(page, live_server.url, "WIDGET-1", 2)
    expect(page.locator("[data-field=headline]")).to_have_text("Placing your order…")
    expect(page.locator(".bar")).to_have_attribute("aria-valuenow", "0")
    page.screenshot(path=SHOTS / "storefront-order-placing.png", full_page=True)

    with WorkerCluster(workers=1):
        wait_for_headline(page, "Completed")
        assert page.evaluate(MARKER) is True, "the order page reloaded or navigated"
        expect(page.locator(".bar")).to_have_attribute("aria-valuenow", "100")
        expect(page.locator(".step--done")).to_have_count(5)
        confirmed = "Your order is confirmed: 2 \N{MULTIPLICATION SIGN} Widget, paid $50.00."
        expect(page.locator("[data-field=outcome]")).to_have_text(confirmed)
        expect(page.locator("[data-field=order-status]")).to_have_text("Approved")
        page.screenshot(path=SHOTS / "storefront-order-completed.png", full_page=True)

        # 120.00 when 50.00 is left: payment is declined and the stock reservation undone.
        place_order(page, live_server.url, "GADGET-1", 1)
        wait_for_headline(page, "Cancelled")
        assert page.evaluate(MARKER) is True, "the order page reloaded or navigated"
        expect(page.locator("[data-field=outcome]")).to_contain_text(
            "Payment declined: insufficient funds. Your stock reservation was released."
        )
        expect(page.locator(".step--refused")).to_contain_text("Take payment")
        page.screenshot(path=SHOTS / "storefront-order-compensated.png", full_page=True)
        compensated_url = page.url

    page.goto(f"{live_server.url}/orders/")
    expect(page.locator(".order-row")).to_have_count(2)
    expect(page.locator(".order-row").first).to_contain_text("Cancelled")
    page.screenshot(path=SHOTS / "storefront-my-orders.png", full_page=True)

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_server.url}/orders/new/?sku=WIDGET-1")
    phone.fill("#id_quantity", "0")
    phone.get_by_role("button", name="Place order").click()
    expect(phone.locator("#id_quantity_error")).to_contain_text("Quantity must be a positive whole number")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    phone.screenshot(path=SHOTS / "storefront-phone-form-error.png", full_page=True)
    phone.goto(compensated_url)
    expect(phone.locator("[data-field=headline]")).to_have_text("Cancelled")
    phone.screenshot(path=SHOTS / "storefront-phone-order.png", full_page=True)
