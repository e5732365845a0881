"""A customer cancels an order: which path it takes, what the plan says, and every refusal."""

from datetime import timedelta
from decimal import Decimal

import pytest

from inventory.models import Reservation
from orders.cancellation import CancellationRefused, CancelPath, cancellation_plan, cancellation_request
from orders.models import Order
from orders.tests.cancelling import (
    balance,
    cancel,
    cancel_and_drain,
    fault,
    on_hand,
    order,
    place,
    place_until_retry,
    reservation,
)
from sagas.consistency import find_violations
from sagas.models import SagaInstance, SagaStatus
from sagas.testing.choreography import drain_events
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


def refusal_of(saga, customer="alice"):
    with pytest.raises(CancellationRefused) as caught:
        cancel(saga, customer)
    return caught.value.code


# --- a confirmed order -------------------------------------------------------------------------


def test_the_plan_of_a_confirmed_order_names_the_refund_the_stock_and_the_deadline(shop, settings):
    placed = place(quantity=2)
    plan = cancellation_plan(placed.business_key, customer="alice")
    assert plan.path == CancelPath.CANCELLATION and plan.refusal is None
    assert plan.refund == Decimal("50.00")
    assert plan.stock_back == [("Widget", 2)]
    assert plan.deadline == order(placed).created_at + timedelta(seconds=settings.ORDER_CANCELLATION_WINDOW_SECONDS)


def test_two_cancels_of_one_confirmed_order_start_one_saga(shop):
    placed = place()
    first = cancel(placed)
    assert first.created
    # The second finds the first one underway; the saga table holds one cancellation.
    assert refusal_of(placed) == "cancelling"
    assert SagaInstance.objects.filter(definition_name="order_cancellation").count() == 1
    assert first.saga.idempotency_key == f"order-cancellation:{placed.business_key}:1"


def test_a_cancelled_order_is_not_cancelled_again(shop):
    placed = place()
    cancel_and_drain(placed)
    assert refusal_of(placed) == "already_cancelled"
    plan = cancellation_plan(placed.business_key, customer="alice")
    assert plan.path is None and plan.refusal.code == "already_cancelled"
    assert plan.refund == Decimal("0.00") and plan.stock_back == []


def test_past_the_window_a_confirmed_order_is_refused(shop):
    placed = place()
    Order.objects.using("orders").filter(pk=placed.business_key).update(
        created_at=order(placed).created_at - timedelta(days=2)
    )
    assert refusal_of(placed) == "window_passed"
    assert order(placed).status == Order.Status.APPROVED


def test_the_window_comes_from_the_setting(shop, settings):
    settings.ORDER_CANCELLATION_WINDOW_SECONDS = 0
    placed = place()
    assert refusal_of(placed) == "window_passed"


# --- whose order ---------------------------------------------------------------------------------


def test_another_customers_order_is_not_found(shop):
    placed = place()
    assert refusal_of(placed, customer="mallory") == "not_found"
    assert cancellation_plan(placed.business_key, customer="mallory").refusal.code == "not_found"


@pytest.mark.parametrize("order_id", ["00000000-0000-0000-0000-000000000001", "not-an-id", ""])
def test_an_unknown_or_malformed_order_is_not_found(shop, order_id):
    with pytest.raises(CancellationRefused) as caught:
        cancellation_request(order_id, customer="alice", actor="alice")
    assert caught.value.code == "not_found"
    assert cancellation_plan(order_id, customer="alice").refusal.code == "not_found"


def test_a_placement_that_failed_has_nothing_to_cancel(shop):
    placed = place(quantity=11)  # 10 in stock
    assert placed.status == SagaStatus.COMPENSATED
    assert refusal_of(placed) == "not_cancellable"


# --- before the placement's pivot ------------------------------------------------------------------


def test_before_the_pivot_the_placement_saga_compensates(shop):
    running = place_until_retry("payments.payment_charge")
    assert running.status == SagaStatus.RUNNING and running.current_step == "charge_payment"
    plan = cancellation_plan(running.business_key, customer="alice")
    assert plan.path == CancelPath.STOP_PLACEMENT
    assert plan.refund == Decimal("0.00") and plan.stock_back == [("Widget", 2)] and plan.deadline is None
    started = cancel(running, reason="changed my mind")
    assert started.path == CancelPath.STOP_PLACEMENT and started.saga.pk == running.pk and started.created
    drain()
    running.refresh_from_db()
    assert running.status == SagaStatus.COMPENSATED
    assert order(running).status == Order.Status.CANCELLED
    assert reservation(running).status == Reservation.Status.RELEASED
    assert balance() == Decimal("1000.00") and on_hand() == 10
    # Stopped by the operator's own action, with its audit row naming who asked and why.
    audit = running.steps.get(action="compensate")
    assert (audit.actor, audit.reason) == ("customer alice", "changed my mind")
    assert refusal_of(running) == "already_cancelled"
    assert find_violations() == []


def test_a_placement_not_started_yet_is_stopped_before_it_creates_anything(shop):
    from orders.placement import order_place

    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="orchestration")
    assert cancel(saga).path == CancelPath.STOP_PLACEMENT
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert not Order.objects.using("orders").filter(pk=saga.business_key).exists()
    assert balance() == Decimal("1000.00") and on_hand() == 10


def test_a_second_cancel_while_the_placement_compensates_is_refused(shop):
    running = place_until_retry("payments.payment_charge")
    cancel(running)
    assert refusal_of(running) == "cancelling"


def test_a_choreographed_placement_is_stopped_by_its_cancel_event(shop):
    from orders.placement import order_place

    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    drain_events(limit=2)  # under way, short of its pivot
    saga.refresh_from_db()
    started = cancel(saga)
    assert started.path == CancelPath.STOP_PLACEMENT and started.saga.pk == saga.pk
    drain_events()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert balance() == Decimal("1000.00") and on_hand() == 10
    assert refusal_of(saga) == "already_cancelled"
    assert find_violations() == []


# --- past the placement's pivot, not yet confirmed ----------------------------------------------------


def test_past_the_pivot_and_not_yet_confirmed_the_cancel_waits_for_confirmation(shop):
    confirming = place_until_retry("inventory.reservation_commit")
    assert confirming.current_step == "commit_stock" and order(confirming).status == Order.Status.APPROVED
    assert refusal_of(confirming) == "confirming"
    assert cancellation_plan(confirming.business_key, customer="alice").refusal.code == "confirming"
    drain()
    # Once confirmed, the same customer cancels it with the cancellation saga.
    assert cancel(confirming).path == CancelPath.CANCELLATION


def test_a_choreographed_placement_past_its_pivot_is_refused_until_confirmed(shop):
    from orders.placement import order_place

    fault("inventory.reservation_commit", "transient", remaining=1)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    orders = Order.objects.using("orders").filter(pk=saga.business_key)
    while not orders.filter(status=Order.Status.APPROVED).exists():
        assert drain_events(limit=1) == 1
    assert refusal_of(saga) == "confirming"
    drain_events()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert cancel(saga).path == CancelPath.CANCELLATION


def test_a_placement_stuck_undoing_itself_is_undone_again_by_the_cancel(shop):
    from orders.placement import order_place
    from payments.tests.factories import AccountFactory
    from sagas.participant import faults

    AccountFactory(customer="bob", balance=Decimal("10.00"))
    rule = fault("inventory.reservation_release", "transient")
    saga, _ = order_place(customer="bob", sku="WIDGET-1", quantity=2, style="orchestration")
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.FAILED and saga.current_step == "reserve_stock"
    rule.delete()
    faults.clear_cache()
    # The operator's rule lets a FAILED saga short of its pivot compensate, so the customer's cancel does.
    assert cancel(saga, customer="bob").path == CancelPath.STOP_PLACEMENT
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert on_hand() == 10 and balance("bob") == Decimal("10.00")
    assert find_violations() == []
