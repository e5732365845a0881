"""Storefront pages: catalog, placing an order once, the order page and its live data, my orders."""

import re
import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.forms import new_form_token
from orders.models import Order
from orders.placement import order_place
from payments.tests.factories import account_for
from sagas.models import SagaInstance, SagaStatus
from sagas.participant.customers import customer_key_for_username
from sagas.testing.choreography import drain_events
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def make_customer(name: str, balance: str = "100.00"):
    user = get_user_model().objects.create_user(name, password="demo-pass-123")
    account_for(user, balance)
    return user


@pytest.fixture
def widget(db):
    return ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)


@pytest.fixture
def alice(client, widget):
    client.force_login(make_customer("alice"))
    return client


def order_data(**overrides):
    return {"sku": "WIDGET-1", "quantity": "1", "style": "orchestration", "token": new_form_token(), **overrides}


def place_through_form(client, **overrides):
    response = client.post(reverse("order_create"), order_data(**overrides))
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def test_the_catalog_lists_products_for_sale_with_price_and_stock_to_anyone(client, widget):
    ProductFactory(sku="GONE-1", name="Discontinued", unit_price=Decimal("3.00"), stock_on_hand=5, active=False)
    ProductFactory(sku="EMPTY-1", name="Sold thing", unit_price=Decimal("7.50"), stock_on_hand=0)
    html = client.get(reverse("catalog")).content.decode()
    assert "Widget" in html and "25.00" in html and "10 available" in html
    assert "Sold thing" in html and "Sold out" in html
    assert "Discontinued" not in html


@pytest.mark.parametrize("name", ["order_create", "order_list"])
def test_order_pages_send_an_anonymous_visitor_to_the_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_demo_customer_logs_in_with_name_and_password_and_lands_on_the_catalog(client, widget):
    make_customer("bob")
    response = client.post(reverse("login"), {"username": "bob", "password": "demo-pass-123"})
    assert response.status_code == 302 and response["Location"] == reverse("catalog")
    assert "Log out" in client.get(reverse("catalog")).content.decode()
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "Log in" in client.get(reverse("catalog")).content.decode()


def test_a_wrong_password_is_refused_on_the_login_page(client):
    make_customer("bob")
    response = client.post(reverse("login"), {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_order_form_preselects_the_product_chosen_in_the_catalog(alice):
    html = alice.get(reverse("order_create") + "?sku=WIDGET-1").content.decode()
    assert '<option value="WIDGET-1" selected>' in html
    assert 'value="orchestration"' in html and 'value="choreography"' in html


def test_placing_an_order_redirects_to_its_page_which_shows_it_being_placed(alice):
    location = place_through_form(alice, quantity="2")
    saga = SagaInstance.objects.get()
    assert location == reverse("order_detail", kwargs={"order_id": saga.business_key})
    assert saga.party == customer_key_for_username("alice") and saga.idempotency_key.startswith("web:")
    html = alice.get(location).content.decode()
    assert "Placing your order…" in html
    assert "Not created yet" in html


def test_the_order_page_shows_the_completed_order_and_every_step_done(alice):
    location = place_through_form(alice, quantity="2")
    drain()
    html = alice.get(location).content.decode()
    assert "Completed" in html
    assert "Your order is confirmed: 2 \N{MULTIPLICATION SIGN} Widget, paid $50.00." in html
    assert html.count('class="step step--done"') == 5
    assert 'aria-valuenow="100"' in html
    assert "Approved" in html


def test_a_double_submit_places_one_order_and_both_land_on_it(alice):
    data = order_data()
    first = alice.post(reverse("order_create"), data)
    second = alice.post(reverse("order_create"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    drain()
    assert SagaInstance.objects.count() == 1
    assert Order.objects.using("orders").count() == 1
    assert "no second order was placed" in alice.get(second["Location"]).content.decode()


def test_going_back_and_resubmitting_a_changed_form_still_places_one_order(alice):
    data = order_data(quantity="1")
    alice.post(reverse("order_create"), data)
    alice.post(reverse("order_create"), {**data, "quantity": "3"})
    drain()
    assert Order.objects.using("orders").count() == 1
    assert SagaInstance.objects.get().context["input"]["quantity"] == 1


def test_two_forms_place_two_orders(alice):
    place_through_form(alice)
    place_through_form(alice)
    drain()
    assert Order.objects.using("orders").count() == 2


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_double_click_sending_both_requests_at_once_places_one_order(widget):
    user = make_customer("alice")
    data = order_data()
    barrier = threading.Barrier(2)
    locations: list[str] = []

    def click():
        browser = Client()
        browser.force_login(user)
        barrier.wait()
        try:
            locations.append(browser.post(reverse("order_create"), data)["Location"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(locations) == 2 and locations[0] == locations[1]
    assert SagaInstance.objects.count() == 1


@pytest.mark.parametrize("page", ["order_detail", "order_progress"])
def test_a_customer_gets_404_for_another_customers_order(alice, page):
    saga, _ = order_place(customer=customer_key_for_username("alice"), sku="WIDGET-1", quantity=1)
    drain()
    mallory = Client()
    mallory.force_login(make_customer("mallory"))
    assert mallory.get(reverse(page, kwargs={"order_id": saga.business_key})).status_code == 404
    assert alice.get(reverse(page, kwargs={"order_id": saga.business_key})).status_code == 200


@pytest.mark.parametrize("page", ["order_detail", "order_progress"])
def test_an_unknown_order_is_404(alice, page):
    assert alice.get(reverse(page, kwargs={"order_id": "8d7f2c1e-0000-4000-8000-000000000000"})).status_code == 404


def test_the_progress_json_follows_the_saga_from_placing_to_completed(alice):
    location = place_through_form(alice)
    order_id = location.rstrip("/").rsplit("/", 1)[1]
    url = reverse("order_progress", kwargs={"order_id": order_id})
    before = alice.get(url).json()
    assert before["terminal"] is False and before["percent"] == 0
    assert before["headline"] == "Placing your order…"
    assert before["order_status"] == "Not created yet"
    assert [step["state"] for step in before["steps"]] == ["pending"] * 5
    drain()
    after = alice.get(url).json()
    assert after["terminal"] is True and after["percent"] == 100 and after["status"] == SagaStatus.COMPLETED
    assert after["order_status"] == "Approved"
    assert [step["state"] for step in after["steps"]] == ["done"] * 5


def test_an_order_too_expensive_shows_the_compensation_in_plain_words(alice):
    location = place_through_form(alice, quantity="5")
    drain()
    html = alice.get(location).content.decode()
    assert "Cancelled" in html
    assert (
        "Payment declined: insufficient funds. Your stock reservation was released. "
        "Your order was cancelled. You have not been charged." in html
    )
    assert 'class="step step--refused"' in html and html.count('class="step step--undone"') == 2


def test_an_order_for_more_than_the_stock_says_it_was_out_of_stock(alice):
    location = place_through_form(alice, quantity="11")
    drain()
    progress = alice.get(location.rstrip("/") + "/progress/").json()
    assert progress["outcome"].startswith("Out of stock: there were not enough items left to reserve.")
    assert "Your order was cancelled." in progress["outcome"]


def test_my_orders_are_newest_first_ten_a_page_and_only_mine(alice):
    for quantity in range(1, 13):
        order_place(customer=customer_key_for_username("alice"), sku="WIDGET-1", quantity=quantity)
    make_customer("bob")
    order_place(customer=customer_key_for_username("bob"), sku="WIDGET-1", quantity=7)
    first = alice.get(reverse("order_list")).content.decode()
    second = alice.get(reverse("order_list") + "?page=2").content.decode()
    quantities = [int(q) for q in re.findall(r"<td>(\d+) \N{MULTIPLICATION SIGN} Widget</td>", first)]
    assert quantities == list(range(12, 2, -1))
    assert [int(q) for q in re.findall(r"<td>(\d+) \N{MULTIPLICATION SIGN} Widget</td>", second)] == [2, 1]
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert "Page 2 of 2" in second and 'rel="prev"' in second


def test_my_orders_shows_an_order_still_being_placed_and_links_to_it(alice):
    saga, _ = order_place(customer=customer_key_for_username("alice"), sku="WIDGET-1", quantity=1)
    html = alice.get(reverse("order_list")).content.decode()
    assert "Placing" in html
    assert reverse("order_detail", kwargs={"order_id": saga.business_key}) in html


def test_my_orders_says_so_when_there_are_none(alice):
    assert "No orders yet" in alice.get(reverse("order_list")).content.decode()


def test_a_choreographed_order_placed_through_the_form_completes_and_reads_the_same(alice):
    location = place_through_form(alice, quantity="2", style="choreography")
    saga = SagaInstance.objects.get()
    assert saga.style == "choreography" and saga.party == customer_key_for_username("alice")
    drain_events()
    progress = alice.get(location.rstrip("/") + "/progress/").json()
    assert progress["headline"] == "Completed"
    assert [step["state"] for step in progress["steps"]] == ["done"] * 5


def shown_balance(html: str) -> str | None:
    found = re.search(r'Your balance: <strong data-field="balance">([^<]*)</strong>', html)
    return found.group(1) if found else None


@pytest.mark.parametrize("page", ["catalog", "order_create"])
def test_a_customer_sees_their_balance_on_the_catalog_and_the_order_form(alice, page):
    assert shown_balance(alice.get(reverse(page)).content.decode()) == "$100.00"
    place_through_form(alice, quantity="2")
    drain()
    assert shown_balance(alice.get(reverse(page)).content.decode()) == "$50.00"


def test_a_visitor_and_a_login_without_an_account_see_no_balance(client, widget):
    assert shown_balance(client.get(reverse("catalog")).content.decode()) is None
    client.force_login(get_user_model().objects.create_user("staffer", password="x-pass-123456"))
    assert shown_balance(client.get(reverse("order_create")).content.decode()) is None


def test_an_order_on_hold_says_what_happened_to_the_money_and_the_items_and_what_comes_next(alice):
    FaultRuleFactory(operation="orders.order_approve", mode="refuse")
    FaultRuleFactory(operation="payments.payment_refund", mode="transient")
    location = place_through_form(alice, quantity="2")
    drain()
    html = alice.get(location).content.decode()
    assert SagaInstance.objects.get().status == SagaStatus.FAILED
    assert "On hold" in html
    assert "You have been charged $50.00 and the refund has not gone through yet." in html
    assert "Your items are held for this order." in html
    assert "Our team has been alerted and will finish cancelling it" in html
    progress = alice.get(location.rstrip("/") + "/progress/").json()
    assert "You have been charged $50.00 and the refund has not gone through yet." in progress["outcome"]
