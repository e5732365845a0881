"""A customer is the user, not the username: a new user who takes a deleted user's name starts with nothing."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.forms import new_form_token
from orders.models import Order
from orders.placement import order_place
from payments import selectors as payment_selectors
from payments.models import CustomerAccount
from payments.tests.factories import AccountFactory, account_for
from sagas.models import SagaInstance, SagaStatus
from sagas.participant import customers
from sagas.testing.drain import drain
from sagas.tests.api_helpers import token_client

pytestmark = pytest.mark.django_db(databases="__all__")

User = get_user_model()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.fixture
def widget(db):
    return ProductFactory(sku="WIDGET-1", name="Widget", unit_price=Decimal("25.00"), stock_on_hand=10)


def customer_with_order(name: str) -> tuple[object, Order]:
    """A user with a 100.00 account and one approved order of one widget (25.00)."""
    user = User.objects.create_user(name, password="demo-pass-123")
    account_for(user, "100.00")
    saga, _ = order_place(customer=customers.customer_key(user), sku="WIDGET-1", quantity=1)
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    return user, Order.objects.using("orders").get(pk=saga.business_key)


def test_a_new_user_who_takes_a_deleted_users_name_sees_none_of_their_orders_or_money(client, widget):
    old_dave, old_order = customer_with_order("dave")
    old_key = customers.customer_key(old_dave)
    old_dave.delete()
    new_dave = User.objects.create_user("dave", password="demo-pass-123")
    assert customers.customer_key(new_dave) != old_key, "a user id is never handed out twice"

    client.force_login(new_dave)
    my_orders = client.get(reverse("order_list")).content.decode()
    assert str(old_order.pk)[:8] not in my_orders
    assert client.get(reverse("order_detail", kwargs={"order_id": old_order.pk})).status_code == 404
    assert client.get(reverse("order_progress", kwargs={"order_id": old_order.pk})).status_code == 404
    assert 'data-field="balance"' not in client.get(reverse("catalog")).content.decode()
    assert payment_selectors.account_balance(customers.customer_key(new_dave)) is None

    api = token_client(new_dave)
    assert api.get("/api/orders/").json()["results"] == []
    assert api.get(f"/api/orders/{old_order.pk}/").status_code == 404

    # Placing an order does not reach the old balance: the new dave has no account.
    form = {"sku": "WIDGET-1", "quantity": "1", "style": "orchestration", "token": new_form_token()}
    response = client.post(reverse("order_create"), form)
    assert "Unknown customer &#x27;dave&#x27;." in response.content.decode()
    assert not SagaInstance.objects.filter(party=customers.customer_key(new_dave)).exists()

    # The old rows stay for the audit, under the old user's id.
    kept = Order.objects.using("orders").get(pk=old_order.pk)
    assert kept.customer == old_key and kept.status == Order.Status.APPROVED
    old_account = CustomerAccount.objects.using("payments").get(customer=old_key)
    assert old_account.balance == Decimal("75.00")


def test_a_new_user_with_a_fresh_account_starts_from_their_own_deposit(client, widget):
    old_dave, _ = customer_with_order("dave")
    old_dave.delete()
    new_dave = User.objects.create_user("dave", password="demo-pass-123")
    account_for(new_dave, "10.00")
    client.force_login(new_dave)
    html = client.get(reverse("catalog")).content.decode()
    assert '<strong data-field="balance">$10.00</strong>' in html
    assert token_client(new_dave).get("/api/orders/").json()["results"] == []


def test_the_api_shows_the_customer_by_username_and_follows_a_rename(widget):
    dave, order = customer_with_order("dave")
    staff = User.objects.create_user("olga", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    api = token_client(staff)
    assert api.get(f"/api/orders/{order.pk}/").json()["customer"] == "dave"
    dave.username = "david"
    dave.save()
    listed = {row["id"]: row["customer"] for row in api.get("/api/orders/").json()["results"]}
    assert listed[str(order.pk)] == "david"


def test_place_order_takes_the_username_of_a_live_user(widget):
    dave = User.objects.create_user("dave")
    account_for(dave, "100.00")
    out = StringIO()
    call_command("place_order", customer="dave", sku="WIDGET-1", quantity="1", stdout=out)
    assert SagaInstance.objects.get().party == str(dave.pk)
    dave.delete()
    with pytest.raises(CommandError, match="No user is called 'dave'"):
        call_command("place_order", customer="dave", sku="WIDGET-1", quantity="1", stdout=StringIO())


def test_saga_status_names_the_customer_by_username(widget):
    dave, order = customer_with_order("dave")
    out = StringIO()
    call_command("saga_status", str(order.saga_id), stdout=out)
    assert "party dave" in out.getvalue()
    dave_id = dave.pk
    dave.delete()
    out = StringIO()
    call_command("saga_status", str(order.saga_id), stdout=out)
    assert f"party deleted user #{dave_id}" in out.getvalue()


def test_the_admin_finds_a_customers_rows_by_username_and_shows_the_username(admin_client, widget):
    _, order = customer_with_order("dave")
    AccountFactory(customer=f"{customers.DELETED_PREFIX}erin", balance=Decimal("5.00"))
    orders_page = admin_client.get(reverse("admin:orders_order_changelist"), {"q": "dave"}).content.decode()
    assert str(order.pk) in orders_page and '<td class="field-customer_name">dave</td>' in orders_page
    accounts = admin_client.get(reverse("admin:payments_customeraccount_changelist"), {"q": "dave"}).content.decode()
    assert "dave" in accounts and "erin" not in accounts
    gone = admin_client.get(reverse("admin:payments_customeraccount_changelist"), {"q": "erin"}).content.decode()
    assert "erin (deleted user)" in gone
    sagas = admin_client.get(reverse("admin:sagas_sagainstance_changelist"), {"q": "dave"}).content.decode()
    assert str(order.saga_id)[:8] in sagas
    saga_page = admin_client.get(reverse("admin:sagas_sagainstance_change", args=[order.saga_id])).content.decode()
    assert '<div class="readonly">dave</div>' in saga_page
    nobody = admin_client.get(reverse("admin:orders_order_changelist"), {"q": "nobody"}).content.decode()
    assert str(order.pk) not in nobody


def test_seed_demo_opens_each_account_under_its_users_id(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    for name in ("alice", "bob", "carol"):
        user = User.objects.get(username=name)
        assert user.check_password("demo-pass-123")
        assert payment_selectors.account_get(str(user.pk)) is not None
    assert CustomerAccount.objects.using("payments").count() == 3


def test_seed_demo_without_logins_makes_customers_who_cannot_log_in(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--no-users", stdout=StringIO())
    alice = User.objects.get(username="alice")
    assert not alice.has_usable_password()
    assert payment_selectors.account_balance(customers.customer_key(alice)) == Decimal("1000.00")


def test_names_shown_for_keys_without_a_live_user():
    dave = User.objects.create_user("dave")
    gone_key = customers.customer_key(dave)
    dave.delete()
    names = customers.customer_names([gone_key, "deleted:erin", "bench-1-c0", ""])
    assert names == {
        gone_key: f"deleted user #{gone_key}",
        "deleted:erin": "erin (deleted user)",
        "bench-1-c0": "bench-1-c0",
        "": "",
    }
