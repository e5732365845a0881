"""An operator in a real browser: log into the admin, open a compensated saga, see its timeline.

Drives Debian's chromium through Playwright against the live test server; the screenshot is
kept under artifacts/ for CI.
"""

import re
from decimal import Decimal

import pytest

from inventory.tests.factories import ProductFactory
from orders.tests.support.sagas import placed
from payments.tests.factories import AccountFactory
from sagas.models import SagaStatus
from sagas.testing.browser import artifacts_dir, chromium_browser
from sagas.tests.admin_support import staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]

ARTIFACTS = artifacts_dir()
PASSWORD = "operator-pass-123"


@pytest.fixture
def browser(monkeypatch):
    yield from chromium_browser(monkeypatch)


@pytest.fixture
def compensated_saga():
    AccountFactory(customer="alice", balance=Decimal("1000.00"))
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    saga = placed(quantity=11)  # more than in stock: the order is cancelled again
    assert saga.status == SagaStatus.COMPENSATED
    return saga


def test_an_operator_logs_in_opens_a_compensated_saga_and_sees_its_timeline(live_server, browser, compensated_saga):
    staff_user("operator", password=PASSWORD)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/sagas/sagainstance/?status__exact=COMPENSATED")
    page.get_by_role("link", name=str(compensated_saga.pk)[:8]).click()
    page.wait_for_url(re.compile(rf"/admin/sagas/sagainstance/{compensated_saga.pk}/change/"))

    timeline = page.locator("svg.saga-timeline")
    timeline.wait_for(state="visible")
    assert timeline.bounding_box()["height"] > 50
    assert page.locator("svg.saga-timeline rect.bar").count() == 3
    assert page.locator("svg.saga-timeline rect.bar.failure").count() == 1
    assert page.locator("#saga-steps").get_by_text("reserve_stock").first.is_visible()
    timeline.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "admin-compensated-saga.png"), full_page=True)
    timeline.screenshot(path=str(ARTIFACTS / "admin-compensated-saga-timeline.png"))
