"""A user's language and time zone: the Preferences page, the language switcher, and what every
page then shows (Tokyo time with its zone named, Japanese)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from orders.models import Order, Preference
from orders.preferences import Choice, choice_save
from orders.tests.support.sagas import placed
from payments.tests.factories import account_for
from sagas.models import SagaInstance
from sagas.participant.customers import customer_key
from sagas.tests.admin_support import staff_user

pytestmark = pytest.mark.django_db(databases="__all__")

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def alice(shop):
    user = get_user_model().objects.create_user("alice-user", password=None)
    account_for(user, "1000.00")
    return user


def logged_in(user, **headers):
    client = Client(headers=headers)
    client.force_login(user)
    return client


def test_a_tokyo_user_sees_the_order_placed_in_tokyo_time_with_the_zone_named(alice):
    choice_save(alice.pk, Choice(time_zone="Asia/Tokyo"))
    saga = placed(customer=customer_key(alice))
    html = logged_in(alice).get(reverse("order_detail", args=[saga.business_key])).content.decode()
    assert f"{saga.created_at.astimezone(TOKYO):%Y-%m-%d %H:%M:%S} JST" in html


def test_without_a_preference_the_order_page_shows_the_site_zone_named(alice):
    saga = placed(customer=customer_key(alice))
    html = logged_in(alice).get(reverse("order_detail", args=[saga.business_key])).content.decode()
    assert f"{saga.created_at:%Y-%m-%d %H:%M:%S} UTC" in html


def test_a_tokyo_operator_sees_the_saga_page_in_tokyo_time_with_the_zone_named(shop):
    operator = staff_user("root", superuser=True)
    choice_save(operator.pk, Choice(time_zone="Asia/Tokyo"))
    saga = placed()
    html = logged_in(operator).get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    assert f"{saga.created_at.astimezone(TOKYO):%Y-%m-%d %H:%M:%S} JST" in html
    assert f"{saga.created_at:%Y-%m-%d %H:%M:%S} UTC" not in html


def test_the_preferences_page_saves_language_and_time_zone_and_the_next_page_follows_them(alice):
    client = logged_in(alice)
    response = client.post(reverse("preferences"), {"language": "ja", "time_zone": "Asia/Tokyo"}, follow=True)
    assert response.status_code == 200
    preference = Preference.objects.get(user_id=alice.pk)
    assert (preference.language, preference.time_zone) == ("ja", "Asia/Tokyo")
    assert '<html lang="ja">' in response.content.decode()
    assert response.headers["Content-Language"] == "ja"


def test_the_preferences_page_refuses_a_zone_that_does_not_exist(alice):
    response = logged_in(alice).post(reverse("preferences"), {"language": "", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert response.context["form"].errors["time_zone"]
    assert not Preference.objects.filter(user_id=alice.pk).exists()


def test_a_saved_language_wins_over_accept_language(alice):
    choice_save(alice.pk, Choice(language="en"))
    response = logged_in(alice, accept_language="ja").get(reverse("catalog"))
    assert '<html lang="en">' in response.content.decode()


def test_the_preference_is_the_users_own_in_a_session_another_user_logs_into(alice, shop):
    choice_save(alice.pk, Choice(language="ja"))
    bob = get_user_model().objects.create_user("bob-user", password=None)
    client = logged_in(alice)
    assert '<html lang="ja">' in client.get(reverse("catalog")).content.decode()
    client.force_login(bob)
    assert '<html lang="en">' in client.get(reverse("catalog")).content.decode()


def test_the_preferences_page_is_linked_from_the_storefront_header_and_the_console(alice):
    link = f'href="{reverse("preferences")}"'
    assert link in logged_in(alice).get(reverse("catalog")).content.decode()
    operator = logged_in(staff_user("root", superuser=True))
    assert link in operator.get(reverse("admin:index")).content.decode()


def test_the_switcher_sets_the_language_for_a_visitor_and_returns_to_the_page(db):
    client = Client()
    response = client.post(reverse("set_language"), {"language": "ja", "next": reverse("catalog")})
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("catalog")
    assert '<html lang="ja">' in client.get(reverse("catalog")).content.decode()


def test_the_switcher_saves_a_logged_in_users_language_keeping_their_zone(alice):
    choice_save(alice.pk, Choice(language="en", time_zone="Asia/Tokyo"))
    client = logged_in(alice)
    client.post(reverse("set_language"), {"language": "ja", "next": reverse("catalog")})
    preference = Preference.objects.get(user_id=alice.pk)
    assert (preference.language, preference.time_zone) == ("ja", "Asia/Tokyo")
    assert '<html lang="ja">' in client.get(reverse("catalog")).content.decode()


@pytest.mark.parametrize("name", ["catalog", "login", "admin:login"])
def test_every_page_has_the_language_switcher_posting_to_set_language_with_next(db, name):
    html = Client().get(reverse(name)).content.decode()
    assert f'action="{reverse("set_language")}"' in html
    assert 'name="next"' in html
    assert '<option value="ja" lang="ja">日本語</option>' in html


def test_the_zone_is_not_left_active_for_the_next_request(alice):
    choice_save(alice.pk, Choice(time_zone="Asia/Tokyo"))
    logged_in(alice).get(reverse("catalog"))
    assert timezone.get_current_timezone_name() == "UTC"


def test_a_deadline_is_shown_in_the_users_zone(alice, settings):
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 3600
    choice_save(alice.pk, Choice(time_zone="Asia/Tokyo"))
    saga = placed(customer=customer_key(alice))
    html = logged_in(alice).get(reverse("order_cancel", args=[saga.business_key])).content.decode()
    order = Order.objects.using("orders").get(pk=saga.business_key)
    deadline = (order.created_at + timedelta(seconds=3600)).astimezone(TOKYO)
    assert f"You can cancel until {deadline:%Y-%m-%d %H:%M} JST." in html


def test_accept_language_ja_gives_a_japanese_storefront(db):
    response = Client(headers={"accept-language": "ja"}).get(reverse("catalog"))
    html = response.content.decode()
    assert '<html lang="ja">' in html
    with translation.override("ja"):
        catalog = translation.gettext("Catalog")
    assert catalog != "Catalog", "the storefront's Japanese catalogue translates its navigation"
    assert f">{catalog}</a>" in html


def test_accept_language_ja_gives_a_japanese_console(shop):
    client = logged_in(staff_user("root", superuser=True), accept_language="ja")
    html = client.get(reverse("admin:index")).content.decode()
    assert '<html lang="ja"' in html
    assert "ログアウト" in html  # Django's own admin text
    with translation.override("ja"):
        title = translation.gettext("Saga operations console")
    assert title != "Saga operations console"
    assert title in html


def test_the_console_opens_with_the_defaults_while_the_preferences_cannot_be_read(shop, caplog):
    operator = staff_user("root", superuser=True)
    choice_save(operator.pk, Choice(language="ja"))
    # The orders database fails its reads: here, its preference table is gone (rolled back after).
    connection = connections["orders"]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(Preference._meta.db_table)}")
    response = logged_in(operator, accept_language="en").get(reverse("admin:index"))
    assert response.status_code == 200
    assert '<html lang="en"' in response.content.decode()
    assert "could not be read" in caplog.text


def test_a_tokyo_operator_reads_a_sagas_resolution_in_tokyo_time(shop):
    operator = staff_user("root", superuser=True)
    choice_save(operator.pk, Choice(time_zone="Asia/Tokyo"))
    saga = placed()
    resolved_at = saga.created_at
    SagaInstance.objects.filter(pk=saga.pk).update(resolved_at=resolved_at, resolved_by="root")
    html = logged_in(operator).get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    assert f"root at {resolved_at.astimezone(TOKYO):%Y-%m-%d %H:%M:%S} JST" in html
