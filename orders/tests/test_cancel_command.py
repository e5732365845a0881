"""manage.py cancel_order: the customer's cancel, from an operator's shell."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from orders.models import Order
from orders.tests.cancelling import balance, order, place, place_until_retry
from payments.tests.factories import account_for
from sagas.models import SagaInstance, SagaStatus
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


def run(*args: str) -> str:
    out = StringIO()
    call_command("cancel_order", *args, stdout=out)
    return out.getvalue()


def test_a_confirmed_order_is_cancelled_for_whoever_placed_it(shop):
    placed = place()
    output = run(str(placed.business_key), "--reason", "asked by phone")
    cancellation = SagaInstance.objects.get(definition_name="order_cancellation")
    assert f"cancellation saga {cancellation.pk} started" in output
    assert f"saga_status {cancellation.pk}" in output
    drain()
    assert order(placed).status == Order.Status.CANCELLED
    assert order(placed).cancel_reason == "asked by phone"
    assert balance() == Decimal("1000.00")


def test_a_running_placement_is_stopped(shop):
    running = place_until_retry("payments.payment_charge")
    assert "stops and undoes what it did" in run(str(running.business_key))
    drain()
    running.refresh_from_db()
    assert running.status == SagaStatus.COMPENSATED


def test_the_customer_named_must_own_the_order(shop):
    owner = get_user_model().objects.create_user("dora", password="x-long-password-1")
    get_user_model().objects.create_user("erin", password="x-long-password-1")
    account_for(owner, Decimal("100.00"))
    placed = place(customer=str(owner.pk))
    with pytest.raises(CommandError, match="not_found"):
        run(str(placed.business_key), "--customer", "erin")
    assert "started" in run(str(placed.business_key), "--customer", "dora")


def test_an_unknown_customer_is_refused(shop):
    placed = place()
    with pytest.raises(CommandError, match="customer: No user is called 'nobody'"):
        run(str(placed.business_key), "--customer", "nobody")


def test_a_refusal_is_a_clear_error(shop):
    placed = place()
    run(str(placed.business_key))
    drain()
    with pytest.raises(CommandError, match=r"This order is already cancelled\. \(already_cancelled\)"):
        run(str(placed.business_key))


@pytest.mark.parametrize(
    "text", ["not-an-id", "{3f2b8c1e-0d4a-4b6e-9a51-2c7d8e9f0a1b}", "\uff13f2b8c1e-0d4a-4b6e-9a51-2c7d8e9f0a1b"]
)
def test_an_order_id_must_be_a_plain_uuid(shop, text):
    with pytest.raises(CommandError, match="order id"):
        run(text)


def test_an_unknown_order_is_not_found(shop):
    with pytest.raises(CommandError, match="not_found"):
        run("3f2b8c1e-0d4a-4b6e-9a51-2c7d8e9f0a1b")
