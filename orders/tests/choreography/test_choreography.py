"""The choreographed order saga ends in the same states as the orchestrated one, path by path."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from inventory.models import Reservation
from orders.models import Order
from orders.placement import order_place
from orders.tests.support.helpers import balance, on_hand, order_of, payments_of, reservations_of
from payments.models import Payment
from payments.tests.factories import AccountFactory
from sagas.consistency import find_violations
from sagas.models import Direction, SagaStatus, StepStatus
from sagas.participant import faults
from sagas.services import saga_resume
from sagas.testing.choreography import drain_events
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

CAPTURED, REFUNDED = Payment.Status.CAPTURED, Payment.Status.REFUNDED
COMMITTED, RELEASED = Reservation.Status.COMMITTED, Reservation.Status.RELEASED


@dataclass(frozen=True)
class Outcome:
    saga: str
    order: str | None
    payments: tuple[str, ...]
    reservations: tuple[str, ...]
    balance: Decimal
    on_hand: int


def outcome_of(saga, customer) -> Outcome:
    order = order_of(saga)
    return Outcome(
        saga=saga.status,
        order=order.status if order else None,
        payments=tuple(sorted(p.status for p in payments_of(saga))),
        reservations=tuple(sorted(r.status for r in reservations_of(saga))),
        balance=balance(customer),
        on_hand=on_hand("WIDGET-1"),
    )


def run(style, quantity=2, customer="alice"):
    saga, _ = order_place(customer=customer, sku="WIDGET-1", quantity=quantity, style=style)
    if style == "orchestration":
        from sagas.testing.drain import drain

        drain()
    else:
        drain_events()
    saga.refresh_from_db()
    return saga


COMPLETED = Outcome("COMPLETED", "APPROVED", (CAPTURED,), (COMMITTED,), Decimal("950.00"), 8)
NOTHING_TAKEN = Outcome("COMPENSATED", "CANCELLED", (), (), Decimal("1000.00"), 10)
STOCK_GIVEN_BACK = Outcome("COMPENSATED", "CANCELLED", (), (RELEASED,), Decimal("1000.00"), 10)
MONEY_GIVEN_BACK = Outcome("COMPENSATED", "CANCELLED", (REFUNDED,), (RELEASED,), Decimal("1000.00"), 10)

# (name, order quantity, fault rules, what both styles must end with)
SCENARIOS = [
    ("happy path", 2, [], COMPLETED),
    ("out of stock", 11, [], Outcome("COMPENSATED", "CANCELLED", (), (), Decimal("1000.00"), 10)),
    ("stock refused by a fault", 2, [dict(operation="inventory.stock_reserve", mode="refuse")], NOTHING_TAKEN),
    ("reserve keeps failing", 2, [dict(operation="inventory.stock_reserve", mode="transient")], NOTHING_TAKEN),
    ("charge fails twice, then works", 2, [dict(operation="payments.payment_charge", remaining=2)], COMPLETED),
    ("charge keeps failing", 2, [dict(operation="payments.payment_charge", mode="transient")], STOCK_GIVEN_BACK),
    ("create fails twice, then works", 2, [dict(operation="orders.order_create", remaining=2)], COMPLETED),
    ("approve fails, then works", 2, [dict(operation="orders.order_approve", remaining=3)], COMPLETED),
    ("approve refused", 2, [dict(operation="orders.order_approve", mode="refuse")], MONEY_GIVEN_BACK),
    ("commit fails, then works", 2, [dict(operation="inventory.reservation_commit", remaining=4)], COMPLETED),
    ("release fails, then works", 11, [dict(operation="inventory.reservation_release", remaining=2)], NOTHING_TAKEN),
]


@pytest.mark.parametrize("style", ["orchestration", "choreography"])
@pytest.mark.parametrize(("name", "quantity", "faults", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_both_styles_end_in_the_same_state(shop, style, name, quantity, faults, expected):
    for rule in faults:
        FaultRuleFactory(**{"mode": "transient", **rule})
    saga = run(style, quantity=quantity)
    assert outcome_of(saga, "alice") == expected
    assert find_violations() == []


@pytest.mark.parametrize("style", ["orchestration", "choreography"])
def test_insufficient_funds_gives_the_stock_back_in_both_styles(shop, style):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    saga = run(style, customer="bob")
    assert outcome_of(saga, "bob") == Outcome("COMPENSATED", "CANCELLED", (), (RELEASED,), Decimal("30.00"), 10)
    assert find_violations() == []


def event_trail(saga):
    return [
        (log.step_name, log.status)
        for log in saga.steps.filter(direction=Direction.EVENT, idempotency_key__contains="-").order_by(
            "step_index", "step_name"
        )
        if "-" in log.step_name
    ]


def test_the_happy_path_shows_every_event_as_a_step_in_causal_order(shop):
    saga = run("choreography")
    assert saga.style == "choreography"
    assert event_trail(saga) == [
        ("order-requested", StepStatus.RECORDED),
        ("order-created", StepStatus.SUCCEEDED),
        ("stock-reserved", StepStatus.SUCCEEDED),
        ("payment-captured", StepStatus.SUCCEEDED),
        ("order-approved", StepStatus.SUCCEEDED),
        ("stock-committed", StepStatus.SUCCEEDED),
    ]
    assert saga.current_step == "stock-committed"
    assert saga.finished_at is not None
    sources = dict(saga.steps.filter(direction=Direction.EVENT).values_list("step_name", "worker"))
    assert sources["stock-reserved"] == "inventory" and sources["payment-captured"] == "payments"


def test_insufficient_funds_turns_back_through_events_and_records_the_reason(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    saga = run("choreography", customer="bob")
    assert saga.status == SagaStatus.COMPENSATED
    assert saga.direction == Direction.COMPENSATION
    assert event_trail(saga) == [
        ("order-requested", StepStatus.RECORDED),
        ("order-created", StepStatus.SUCCEEDED),
        ("stock-reserved", StepStatus.SUCCEEDED),
        ("payment-declined", StepStatus.REFUSED),
        ("order-cancelled", StepStatus.SUCCEEDED),
        ("stock-released", StepStatus.SUCCEEDED),
        ("payment-refunded", StepStatus.SUCCEEDED),
    ]
    assert saga.last_error.startswith("payment-declined: Insufficient funds")
    assert order_of(saga).cancel_reason.startswith("payment-declined: Insufficient funds")


def test_an_empty_refund_is_announced_so_the_saga_knows_nothing_is_left_to_undo(shop):
    saga = run("choreography", quantity=11)
    refunded = saga.steps.get(step_name="payment-refunded")
    assert refunded.result["empty"] is True
    assert saga.steps.get(step_name="stock-rejected").error_message.startswith("Only 10 of WIDGET-1")


def test_failed_attempts_of_a_handler_show_in_the_step_log(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=2)
    saga = run("choreography")
    attempts = list(saga.steps.filter(step_name="charge_payment").order_by("attempt").values_list("attempt", "status"))
    assert attempts == [(1, StepStatus.FAILED), (2, StepStatus.FAILED)]
    row = saga.steps.filter(step_name="charge_payment").first()
    assert row.idempotency_key == f"saga:{saga.pk}:charge_payment:action"
    assert "payments.charge_payment on stock-reserved: InjectedTransientError" in row.error_message


def test_a_compensation_that_keeps_failing_stops_the_saga_until_resumed(shop):
    FaultRuleFactory(operation="orders.order_approve", mode="refuse")
    refund_fault = FaultRuleFactory(operation="payments.payment_refund", mode="transient")
    saga = run("choreography")
    assert saga.status == SagaStatus.FAILED
    assert "payments.refund_payment on order-cancelled" in saga.last_error
    assert [letter["handler"] for letter in saga.context["dead_letters"]] == ["payments.refund_payment"]
    assert balance("alice") == Decimal("950.00")

    refund_fault.delete()
    faults.clear_cache()
    saga_resume(saga.pk, actor="ops", reason="refunds work again")
    drain_events()
    saga.refresh_from_db()
    assert outcome_of(saga, "alice") == MONEY_GIVEN_BACK
    assert "dead_letters" not in saga.context
    assert find_violations() == []


def test_an_answer_lost_after_the_charge_does_not_undo_it_the_event_went_out_with_it(shop):
    """Unlike orchestration, which refunds a charge whose answer it never got."""
    FaultRuleFactory(operation="payments.payment_charge", phase="after", mode="transient")
    saga = run("choreography")
    assert outcome_of(saga, "alice") == COMPLETED
    assert [p.status for p in payments_of(saga)] == [CAPTURED]


def test_a_choreographed_order_keeps_its_order_id_customer_and_input(shop):
    saga = run("choreography")
    order = order_of(saga)
    assert order.saga_id == saga.pk
    assert saga.party == "alice" and saga.context["input"]["quantity"] == 2
    assert order.total == Decimal("50.00")
    assert Order.objects.using("orders").count() == 1
