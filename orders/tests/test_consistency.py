"""check_consistency: each invariant of the order saga caught when broken on purpose, none on a clean run.

The corruption is planted straight into the participants' tables: no service would ever
write it, which is the point.
"""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from inventory.models import Product, Reservation, StockMovement
from orders.models import Order
from orders.placement import order_place
from payments.models import CustomerAccount, Payment
from payments.tests.factories import AccountFactory
from sagas.consistency import Violation, find_violations
from sagas.models import SagaInstance, SagaStatus
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


def place(quantity=2, customer="alice", sku="WIDGET-1"):
    saga, _ = order_place(customer=customer, sku=sku, quantity=quantity)
    drain()
    saga.refresh_from_db()
    return saga


def kinds(violations: list[Violation]) -> set[int]:
    return {v.invariant for v in violations}


@pytest.fixture
def completed(shop):
    saga = place(quantity=2)
    assert saga.status == SagaStatus.COMPLETED
    return saga


@pytest.fixture
def compensated(shop):
    saga = place(quantity=11)
    assert saga.status == SagaStatus.COMPENSATED
    return saga


def test_a_clean_mix_of_completed_and_compensated_sagas_has_no_violations(shop):
    AccountFactory(customer="bob", balance=Decimal("30.00"))
    statuses = [place(quantity=2).status, place(quantity=20).status, place(quantity=2, customer="bob").status]
    assert statuses == [SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.COMPENSATED]
    assert find_violations() == []


def test_a_completed_saga_whose_order_is_not_approved_breaks_invariant_1(completed):
    Order.objects.using("orders").filter(pk=completed.business_key).update(status=Order.Status.CANCELLED)
    [violation] = find_violations()
    assert (violation.invariant, violation.saga_id, violation.business_key) == (
        1,
        str(completed.id),
        str(completed.business_key),
    )
    assert "order is CANCELLED" in violation.message


def test_a_completed_saga_whose_stock_was_never_committed_breaks_invariant_1(completed):
    Reservation.objects.using("inventory").filter(order_id=completed.business_key).update(
        status=Reservation.Status.ACTIVE
    )
    [violation] = find_violations()
    assert violation.invariant == 1
    assert "committed stock nothing but ordered 2 x WIDGET-1" in violation.message


def test_a_compensated_saga_whose_order_is_still_pending_breaks_invariant_2(compensated):
    Order.objects.using("orders").filter(pk=compensated.business_key).update(status=Order.Status.PENDING)
    [violation] = find_violations()
    assert (violation.invariant, violation.saga_id) == (2, str(compensated.id))
    assert "order is PENDING" in violation.message


def test_money_that_appears_from_nowhere_breaks_invariant_3(completed):
    CustomerAccount.objects.using("payments").filter(customer="alice").update(balance=F("balance") + 10)
    violations = find_violations()
    assert kinds(violations) == {3}
    assert any("960.00 + captured 50.00 = 1010.00, but 1000.00 was deposited" in v.message for v in violations)


def test_stock_that_vanishes_breaks_invariant_4(completed):
    Product.objects.using("inventory").filter(sku="WIDGET-1").update(stock_on_hand=F("stock_on_hand") - 1)
    violations = find_violations()
    assert kinds(violations) == {4}
    assert any("7 on hand + 2 reserved or sold = 9, but 10 were received" in v.message for v in violations)


def test_a_saga_left_past_its_deadline_without_a_lease_breaks_invariant_5(shop):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    long_ago = timezone.now() - timedelta(hours=1)
    SagaInstance.objects.filter(pk=saga.pk).update(status=SagaStatus.RUNNING, deadline_at=long_ago, updated_at=long_ago)
    [violation] = find_violations()
    assert (violation.invariant, violation.saga_id, violation.business_key) == (5, str(saga.id), str(saga.business_key))
    assert "past its deadline" in violation.message


def test_a_late_saga_that_a_worker_holds_or_an_operator_paused_is_not_stuck(shop):
    long_ago = timezone.now() - timedelta(hours=1)
    held, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    paused, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    SagaInstance.objects.filter(pk__in=[held.pk, paused.pk]).update(deadline_at=long_ago, updated_at=long_ago)
    SagaInstance.objects.filter(pk=held.pk).update(
        lease_owner="w1", lease_expires_at=timezone.now() + timedelta(seconds=60)
    )
    SagaInstance.objects.filter(pk=paused.pk).update(paused=True)
    assert find_violations() == []


def test_a_commit_applied_twice_under_one_key_breaks_invariant_6(completed):
    commit = StockMovement.objects.using("inventory").get(
        reservation__order_id=completed.business_key, kind=StockMovement.Kind.COMMITTED
    )
    StockMovement.objects.using("inventory").create(
        product_id=commit.product_id, kind=commit.kind, quantity=0, reservation=commit.reservation, key=commit.key
    )
    [violation] = find_violations()
    assert (violation.invariant, violation.saga_id, violation.business_key) == (
        6,
        str(completed.id),
        str(completed.business_key),
    )
    assert "2 COMMITTED movements (one idempotency key applied twice)" in violation.message


def test_a_second_payment_for_one_order_breaks_invariant_6(completed):
    payment = Payment.objects.using("payments").get(order_id=completed.business_key)
    Payment.objects.using("payments").create(
        key="another-key", account_id=payment.account_id, order_id=payment.order_id, amount=payment.amount
    )
    violations = find_violations()
    assert (
        Violation(6, str(completed.id), str(completed.business_key), "2 payments were taken for one order")
        in violations
    )


def test_check_consistency_exits_0_and_says_so_when_all_invariants_hold(completed, capsys):
    call_command("check_consistency")
    assert "No violations" in capsys.readouterr().out


def test_check_consistency_prints_each_violation_and_exits_1(completed, capsys):
    Order.objects.using("orders").filter(pk=completed.business_key).update(status=Order.Status.CANCELLED)
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_consistency")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"invariant 1  saga {completed.id}  key {completed.business_key}" in out
    assert "1 violation" in out


def test_check_consistency_json_lists_the_violations(completed, capsys):
    Order.objects.using("orders").filter(pk=completed.business_key).update(status=Order.Status.PENDING)
    with pytest.raises(SystemExit):
        call_command("check_consistency", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["counts"] == {"1": 1}
    assert report["violations"][0]["saga_id"] == str(completed.id)


def test_two_sagas_driving_one_order_break_invariant_6(completed):
    twin = SagaInstance.objects.get(pk=completed.pk)
    twin.pk, twin.idempotency_key = uuid.uuid4(), None
    twin.save(force_insert=True)
    violations = find_violations()
    assert [v.invariant for v in violations] == [6]
    assert violations[0].message.startswith("2 sagas drive this order")


def test_a_finished_saga_of_another_kind_is_not_taken_for_an_order_by_its_business_key(completed):
    """Any saga may carry a business key; only the order saga's names an order."""
    SagaInstance.objects.create(
        definition_name="shipment",
        definition_version=1,
        status=SagaStatus.COMPLETED,
        business_key=uuid.uuid4(),
        finished_at=timezone.now(),
    )
    assert find_violations() == []
