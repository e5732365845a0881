"""Cancelling from the storefront: the button, the confirmation page, the refusals and the progress."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.models import Order
from orders.placement import order_place
from payments.models import CustomerAccount
from payments.tests.factories import account_for
from sagas.models import SagaInstance, SagaStatus
from sagas.participant import faults
from sagas.participant.customers import customer_key
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


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
    client = Client()
    client.force_login(alice)
    return client


def place(user, quantity=2, style="orchestration", run=True):
    saga, _ = order_place(customer=customer_key(user), sku="WIDGET-1", quantity=quantity, style=style)
    if run:
        drain()
    saga.refresh_from_db()
    return saga


def page(client, saga, name="order_detail"):
    return client.get(reverse(name, args=[saga.business_key]))


def confirm(client, saga, reason=""):
    """Send the confirmation form as the page drew it."""
    form = page(client, saga, "order_cancel").context["form"]
    data = {"promised": form.initial["promised"], "reason": reason}
    return client.post(reverse("order_cancel", args=[saga.business_key]), data)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def cancellations(saga):
    return SagaInstance.objects.filter(definition_name=CANCELLATION_SAGA, business_key=saga.business_key)


def balance(user):
    return CustomerAccount.objects.using("payments").get(customer=customer_key(user)).balance


def confirming(user):
    """An order past its pivot whose stock hand-over is being retried: approved, not yet confirmed."""
    FaultRuleFactory(operation="inventory.reservation_commit", mode="transient", remaining=1)
    faults.clear_cache()
    saga, _ = order_place(customer=customer_key(user), sku="WIDGET-1", quantity=2)
    drain(fast_forward=False)
    saga.refresh_from_db()
    assert saga.status == SagaStatus.RUNNING and saga.current_step == "commit_stock"
    return saga


# --- the button ----------------------------------------------------------------------------------


def test_a_confirmed_order_offers_the_cancel_button(client, alice):
    saga = place(alice)
    html = page(client, saga).content.decode()
    cancel_url = reverse("order_cancel", args=[saga.business_key])
    assert f'href="{cancel_url}"' in html
    assert 'data-field="cancel-button" href="' + cancel_url + '">Cancel order</a>' in html


def test_an_order_still_being_placed_offers_the_cancel_button_too(client, alice):
    saga = place(alice, run=False)
    assert page(client, saga).context["cancel"].available


def test_an_order_being_confirmed_says_why_it_cannot_be_cancelled_yet_and_offers_no_button(client, alice):
    saga = confirming(alice)
    response = page(client, saga)
    offer = response.context["cancel"]
    assert not offer.available
    assert offer.refusal == (
        "This order is being confirmed and can no longer be stopped; you can cancel it once it is confirmed."
    )
    assert offer.refusal in response.content.decode()


def test_an_order_that_did_not_go_through_offers_no_button_and_says_there_is_nothing_to_cancel(client, alice, widget):
    saga = place(alice, quantity=11)  # 10 in stock
    assert saga.status == SagaStatus.COMPENSATED
    offer = page(client, saga).context["cancel"]
    assert not offer.available
    assert "nothing to cancel" in offer.refusal


def test_the_progress_json_says_whether_the_order_can_be_cancelled(client, alice):
    saga = place(alice)
    data = client.get(reverse("order_progress", args=[saga.business_key])).json()
    assert data["cancel"] == {
        "available": True,
        "url": reverse("order_cancel", args=[saga.business_key]),
        "refusal": "",
    }


# --- the confirmation page -----------------------------------------------------------------------


def test_the_confirmation_of_a_confirmed_order_says_the_refund_the_stock_and_the_deadline(client, alice, settings):
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 3600
    saga = place(alice)
    order = Order.objects.using("orders").get(pk=saga.business_key)
    response = page(client, saga, "order_cancel")
    assert response.status_code == 200
    html = response.content.decode()
    assert "It is confirmed: a cancellation refunds you and puts the items back in stock." in html
    assert "$50.00 is refunded to your account." in html
    assert "These go back in stock: 2 \N{MULTIPLICATION SIGN} Widget." in html
    deadline = order.created_at + timedelta(seconds=3600)
    # In the site's zone (UTC here), named.
    assert f"You can cancel until {deadline:%Y-%m-%d %H:%M} UTC." in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_confirmation_of_an_order_being_placed_says_it_stops_and_nothing_is_refunded(client, alice):
    saga = place(alice, run=False)
    html = page(client, saga, "order_cancel").content.decode()
    assert "It is still being placed: we stop it and undo every step done so far." in html
    assert "You have not been charged, so there is nothing to refund." in html
    assert "Nothing was set aside for you, so nothing goes back in stock." in html
    assert "You can cancel until" not in html


def test_someone_elses_order_has_no_confirmation_page(client, widget):
    bob = get_user_model().objects.create_user("bob", password=None)
    account_for(bob, "1000.00")
    saga = place(bob)
    assert page(client, saga, "order_cancel").status_code == 404
    assert client.post(reverse("order_cancel", args=[saga.business_key])).status_code == 404
    assert not cancellations(saga).exists()


# --- starting it ---------------------------------------------------------------------------------


def test_confirming_starts_the_cancellation_and_the_order_page_follows_it_to_the_refund(client, alice):
    saga = place(alice)
    response = confirm(client, saga, reason="Bought it elsewhere")
    assert response.status_code == 302
    assert response["Location"] == reverse("order_detail", args=[saga.business_key])
    cancellation = cancellations(saga).get()
    assert cancellation.context["input"]["reason"] == "Bought it elsewhere"
    assert cancellation.context["input"]["actor"] == "alice"

    followed = page(client, saga)
    assert messages_of(followed) == ["We are cancelling your order: your refund and the stock are on their way back."]
    assert followed.context["progress"].saga_id == str(cancellation.pk)
    assert followed.context["progress"].headline == "Cancelling your order…"
    assert '<meta http-equiv="refresh" content="3">' in followed.content.decode()

    drain()
    done = page(client, saga)
    progress = done.context["progress"]
    assert (progress.headline, progress.terminal) == ("Cancelled", True)
    assert (progress.customer_status, progress.tone) == ("Cancelled", "compensated")
    assert (
        progress.outcome
        == "Your order is cancelled. $50.00 was refunded to you. Back in stock: 2 \N{MULTIPLICATION SIGN} Widget."
    )
    assert [(step.label, step.state) for step in progress.steps] == [
        ("Stop the order", "done"),
        ("Refund your payment", "done"),
        ("Put the items back in stock", "done"),
        ("Cancel the order", "done"),
    ]
    assert balance(alice) == Decimal("1000.00")
    assert done.context["order"].status == Order.Status.CANCELLED
    assert not done.context["cancel"].available and done.context["cancel"].refusal == ""


def test_the_live_data_follows_the_cancellation_saga(client, alice):
    saga = place(alice)
    confirm(client, saga)
    data = client.get(reverse("order_progress", args=[saga.business_key])).json()
    assert data["saga_id"] == str(cancellations(saga).get().pk)
    assert data["order_id"] == str(saga.business_key)
    assert [step["name"] for step in data["steps"]] == [
        "mark_cancelling",
        "refund_payment",
        "return_stock",
        "mark_cancelled",
    ]
    assert data["terminal"] is False
    assert data["cancel"]["available"] is False


def test_cancelling_an_order_being_placed_stops_it_and_says_the_customer_cancelled(client, alice):
    saga = place(alice, run=False)
    response = confirm(client, saga)
    assert response.status_code == 302
    saga.refresh_from_db()
    assert saga.status in (SagaStatus.COMPENSATING, SagaStatus.COMPENSATED)
    assert messages_of(page(client, saga)) == ["We are stopping your order and undoing what was done so far."]
    drain()
    progress = page(client, saga).context["progress"]
    assert progress.saga_id == str(saga.pk) and progress.headline == "Cancelled"
    assert progress.outcome.startswith("You cancelled the order.")
    assert progress.outcome.endswith("You have not been charged.")
    assert not cancellations(saga).exists()
    assert balance(alice) == Decimal("1000.00")


def test_cancelling_a_choreographed_order_being_placed_stops_it(client, alice):
    saga = place(alice, style="choreography", run=False)
    assert confirm(client, saga).status_code == 302
    saga.refresh_from_db()
    assert saga.status in (SagaStatus.COMPENSATING, SagaStatus.COMPENSATED)


def test_the_confirmation_needs_its_csrf_token(alice):
    saga = place(alice)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    response = strict.post(reverse("order_cancel", args=[saga.business_key]), {"promised": "cancellation:50.00"})
    assert response.status_code == 403
    assert not cancellations(saga).exists()


def test_a_second_confirmation_starts_nothing_more_and_says_so(client, alice):
    saga = place(alice)
    confirm(client, saga)
    page(client, saga)  # shows the first confirmation's message
    form_data = {"promised": "cancellation:50.00", "reason": ""}
    response = client.post(reverse("order_cancel", args=[saga.business_key]), form_data, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == ["This order is being cancelled; its money and stock are on their way back."]
    assert cancellations(saga).count() == 1


def test_a_confirmation_sent_after_the_order_moved_on_shows_what_a_cancel_does_now(client, alice):
    saga = place(alice, run=False)
    promised = page(client, saga, "order_cancel").context["form"].initial["promised"]
    drain()  # confirmed meanwhile: a cancel now refunds 50.00
    response = client.post(reverse("order_cancel", args=[saga.business_key]), {"promised": promised})
    assert response.status_code == 200
    assert messages_of(response) == [
        "Your order moved on while you were deciding. Here is what cancelling it does now."
    ]
    assert "$50.00 is refunded to your account." in response.content.decode()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED and not cancellations(saga).exists()


def test_a_reason_too_long_is_shown_on_the_form(client, alice):
    saga = place(alice)
    promised = page(client, saga, "order_cancel").context["form"].initial["promised"]
    response = client.post(
        reverse("order_cancel", args=[saga.business_key]), {"promised": promised, "reason": "x" * 201}
    )
    assert response.status_code == 200
    assert "Ensure this value has at most 200 characters" in response.content.decode()
    assert not cancellations(saga).exists()


# --- refusals are messages -----------------------------------------------------------------------


def test_past_the_window_the_confirmation_page_sends_back_to_the_order_with_the_reason(client, alice, settings):
    saga = place(alice)
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 0
    response = page(client, saga, "order_cancel")
    assert response.status_code == 302 and response["Location"] == reverse("order_detail", args=[saga.business_key])
    followed = page(client, saga)
    [message] = messages_of(followed)
    assert message.startswith("This order can no longer be cancelled: cancelling was possible until ")
    assert followed.context["cancel"].refusal == message


def test_a_confirmation_refused_on_the_way_is_a_message_not_an_error(client, alice, settings):
    saga = place(alice)
    promised = page(client, saga, "order_cancel").context["form"].initial["promised"]
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 0
    response = client.post(reverse("order_cancel", args=[saga.business_key]), {"promised": promised}, follow=True)
    assert response.status_code == 200
    assert messages_of(response)[0].startswith("This order can no longer be cancelled")
    assert not cancellations(saga).exists()


def test_an_order_being_confirmed_refuses_the_confirmation_page_with_a_message(client, alice):
    saga = confirming(alice)
    response = client.get(reverse("order_cancel", args=[saga.business_key]), follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        "This order is being confirmed and can no longer be stopped; you can cancel it once it is confirmed."
    ]


def test_an_already_cancelled_order_says_so_when_cancelled_again(client, alice):
    saga = place(alice)
    confirm(client, saga)
    page(client, saga)  # shows the confirmation's message
    drain()
    response = client.get(reverse("order_cancel", args=[saga.business_key]), follow=True)
    assert messages_of(response) == ["This order is already cancelled."]


# --- where the order stands ----------------------------------------------------------------------


def test_my_orders_list_a_cancelled_order_once_being_cancelled_then_cancelled(client, alice):
    saga = place(alice)
    confirm(client, saga)
    rows = client.get(reverse("order_list")).context["rows"]
    assert [(row["saga"].pk, row["status"]) for row in rows] == [(saga.pk, "Being cancelled")]
    drain()
    rows = client.get(reverse("order_list")).context["rows"]
    assert [(row["saga"].pk, row["status"]) for row in rows] == [(saga.pk, "Cancelled")]


def test_a_cancellation_on_hold_says_the_refund_went_through_and_staff_will_finish(client, alice):
    saga = place(alice)
    FaultRuleFactory(operation="inventory.stock_return", mode="transient")
    faults.clear_cache()
    confirm(client, saga)
    drain()
    progress = page(client, saga).context["progress"]
    assert progress.headline == "On hold"
    assert progress.outcome == (
        "Something went wrong while cancelling your order. Our team has been alerted and will finish cancelling "
        "it. Your payment has been refunded. You do not need to do anything."
    )


def test_a_confirmation_with_a_bad_reason_for_an_order_no_longer_cancellable_is_a_message(client, alice, settings):
    saga = place(alice)
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 0
    response = client.post(
        reverse("order_cancel", args=[saga.business_key]), {"promised": "", "reason": "x" * 201}, follow=True
    )
    assert response.status_code == 200
    assert messages_of(response)[0].startswith("This order can no longer be cancelled")
