"""What every shop has: column headers on My orders, why a login is asked for, a logout message,
our own 404 and 500 pages, an admin in the product's name, and a way from the shop to the console."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.placement import order_place
from payments.tests.factories import account_for
from sagas.participant.customers import customer_key_for_username

pytestmark = pytest.mark.django_db(databases="__all__")


def make_customer(name: str, balance: str = "100.00"):
    user = get_user_model().objects.create_user(name, password="demo-pass-123")
    account_for(user, balance)
    return user


@pytest.fixture
def alice(client):
    ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)
    client.force_login(make_customer("alice"))
    return client


def test_my_orders_is_a_table_with_a_header_for_each_column(alice):
    order_place(customer=customer_key_for_username("alice"), sku="WIDGET-1", quantity=2)
    html = alice.get(reverse("order_list")).content.decode()
    head = re.search(r"<thead>(.*?)</thead>", html, re.DOTALL)
    assert head, "the orders table has a header row"
    headers = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', head.group(1))
    assert headers == ["Order", "Items", "Total", "Status", "Placed"]
    row = re.search(r'<tr class="order-row">(.*?)</tr>', html, re.DOTALL).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
    assert cells[1:4] == ["2 \N{MULTIPLICATION SIGN} Widget", "$50.00", "Placing"]


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("order_list", "Please log in to see your orders."),
        ("order_create", "Please log in to place an order."),
    ],
)
def test_a_visitor_sent_to_the_login_is_told_why(client, page, reason):
    response = client.get(reverse(page), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login") + "?next=")
    assert reason in response.content.decode()


def test_the_login_page_opened_directly_gives_no_reason(client):
    html = client.get(reverse("login")).content.decode()
    assert "Please log in to" not in html
    assert "Please log in to" not in client.get(reverse("login") + "?next=https://elsewhere.example/").content.decode()


def test_logging_out_says_so_on_the_page_it_leads_to(alice):
    response = alice.post(reverse("logout"), follow=True)
    html = response.content.decode()
    assert "You have been logged out." in html
    assert "Log in" in html
    assert "You have been logged out." not in alice.get(reverse("catalog")).content.decode()


@override_settings(DEBUG=False)
def test_an_unknown_page_is_our_own_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "Saga Shop" in html
    assert reverse("catalog") in html


@override_settings(DEBUG=False)
def test_someone_elses_order_is_our_own_404_page(alice):
    response = alice.get(reverse("order_detail", kwargs={"order_id": "8d7f2c1e-0000-4000-8000-000000000000"}))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@override_settings(DEBUG=False, ROOT_URLCONF="orders.tests.urls_failing")
def test_a_server_error_is_our_own_500_page(db):
    response = Client(raise_request_exception=False).get("/failing-page/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and "Saga Shop" in html
    assert "Server Error (500)" not in html, "not Django's bare fallback"
    assert "RuntimeError" not in html


@pytest.mark.parametrize("url", ["/admin/", "/admin/login/"])
def test_the_admin_wears_the_product_name_not_djangos(client, url):
    if url == "/admin/":
        client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", None))
    html = client.get(url).content.decode()
    assert "Sagas for Django" in html
    assert "Django administration" not in html and "Django site admin" not in html
    if url == "/admin/":
        assert "Saga operations console" in html


def test_staff_find_a_link_to_the_console_in_the_shop_and_customers_do_not(client, alice):
    console = f'href="{reverse("admin:index")}"'
    assert console not in alice.get(reverse("catalog")).content.decode()
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("ops", password=None, is_staff=True))
    html = staff.get(reverse("catalog")).content.decode()
    assert console in html and "Operations console" in html
