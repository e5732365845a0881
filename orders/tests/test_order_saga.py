"""The order saga driven through the real participants, with faults planted on purpose."""

from decimal import Decimal

import pytest

from inventory.models import Reservation
from orders.models import Order
from orders.placement import order_place
from orders.tests.support.helpers import balance, on_hand, order_of, payments_of, reservations_of
from payments.models import Payment
from payments.tests.factories import AccountFactory
from sagas.models import SagaStatus
from sagas.testing.drain import drain
from sagas.tests.attempts import step_trail
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

F, C = "FORWARD", "COMPENSATION"


def place(quantity=2, customer="alice", sku="WIDGET-1"):
    saga, _ = order_place(customer=customer, sku=sku, quantity=quantity)
    drain()
    saga.refresh_from_db()
    return saga


def test_happy_path_approves_the_order_charges_once_and_commits_the_stock(shop):
    saga = place(quantity=2)
    assert saga.status == SagaStatus.COMPLETED
    assert order_of(saga).status == Order.Status.APPROVED
    assert order_of(saga).total == Decimal("50.00")
    assert [p.amount for p in payments_of(saga)] == [Decimal("50.00")]
    assert payments_of(saga)[0].status == Payment.Status.CAPTURED
    assert [(r.quantity, r.status) for r in reservations_of(saga)] == [(2, Reservation.Status.COMMITTED)]
    assert balance("alice") == Decimal("950.00")
    assert on_hand("WIDGET-1") == 8
    assert step_trail(saga) == [
        ("create_order", F, "SUCCEEDED"),
        ("reserve_stock", F, "SUCCEEDED"),
        ("charge_payment", F, "SUCCEEDED"),
        ("approve_order", F, "SUCCEEDED"),
        ("commit_stock", F, "SUCCEEDED"),
    ]


def test_out_of_stock_cancels_the_order_and_leaves_money_and_stock_alone(shop):
    saga = place(quantity=11)
    assert saga.status == SagaStatus.COMPENSATED
    assert order_of(saga).status == Order.Status.CANCELLED
    assert balance("alice") == Decimal("1000.00")
    assert on_hand("WIDGET-1") == 10
    assert step_trail(saga) == [
        ("create_order", F, "SUCCEEDED"),
        ("reserve_stock", F, "REFUSED"),
        ("create_order", C, "SUCCEEDED"),
    ]
    assert "Only 10 of WIDGET-1 in stock" in saga.last_error


def test_insufficient_funds_releases_the_stock_and_cancels_in_reverse_order(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    saga = place(quantity=2, customer="bob")
    assert saga.status == SagaStatus.COMPENSATED
    assert order_of(saga).status == Order.Status.CANCELLED
    assert [r.status for r in reservations_of(saga)] == [Reservation.Status.RELEASED]
    assert payments_of(saga) == []
    assert balance("bob") == Decimal("30.00")
    assert on_hand("WIDGET-1") == 10
    assert step_trail(saga) == [
        ("create_order", F, "SUCCEEDED"),
        ("reserve_stock", F, "SUCCEEDED"),
        ("charge_payment", F, "REFUSED"),
        ("reserve_stock", C, "SUCCEEDED"),
        ("create_order", C, "SUCCEEDED"),
    ]


def test_a_transient_error_is_retried_by_policy_and_then_succeeds(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=2)
    saga = place()
    assert saga.status == SagaStatus.COMPLETED
    charges = [t for t in step_trail(saga) if t[0] == "charge_payment"]
    assert charges == [
        ("charge_payment", F, "FAILED"),
        ("charge_payment", F, "FAILED"),
        ("charge_payment", F, "SUCCEEDED"),
    ]
    assert balance("alice") == Decimal("950.00")


def test_an_error_that_never_stops_ends_in_compensation_including_the_unknown_step(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient")
    saga = place()
    assert saga.status == SagaStatus.COMPENSATED
    assert step_trail(saga)[-4:] == [
        ("charge_payment", F, "FAILED"),
        ("charge_payment", C, "SUCCEEDED"),
        ("reserve_stock", C, "SUCCEEDED"),
        ("create_order", C, "SUCCEEDED"),
    ]
    assert balance("alice") == Decimal("1000.00")
    assert on_hand("WIDGET-1") == 10
    assert order_of(saga).status == Order.Status.CANCELLED


def test_a_charge_whose_answer_was_lost_is_refunded_by_the_compensation(shop):
    """The charge commits but the error after it makes the outcome unknown to the engine."""
    FaultRuleFactory(operation="payments.payment_charge", phase="after", mode="transient")
    saga = place()
    assert saga.status == SagaStatus.COMPENSATED
    assert [p.status for p in payments_of(saga)] == [Payment.Status.REFUNDED]
    assert balance("alice") == Decimal("1000.00")


def test_the_same_idempotency_key_gives_back_the_same_saga(shop):
    first, created = order_place(customer="alice", sku="WIDGET-1", quantity=1, idempotency_key="abc")
    second, created_again = order_place(customer="alice", sku="WIDGET-1", quantity=1, idempotency_key="abc")
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk
    drain()
    assert balance("alice") == Decimal("975.00")
