"""update_returning: one conditional UPDATE that hands back what the effect needs, as the ORM would load it."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from orders.models import Order
from payments.models import CustomerAccount
from payments.tests.factories import AccountFactory
from sagas.participant.returning import update_returning

pytestmark = pytest.mark.django_db(databases=["default", "payments", "orders"])


def test_a_matching_row_is_changed_and_its_money_comes_back_as_a_decimal():
    account = AccountFactory(customer="dora", balance=Decimal("100.00"))
    returned = update_returning(
        CustomerAccount.objects.using("payments").filter(customer="dora", balance__gte=Decimal("40.00")),
        ["id", "balance"],
        balance=F("balance") - Decimal("40.00"),
    )
    assert returned == [{"id": account.pk, "balance": Decimal("60.00")}]
    assert isinstance(returned[0]["balance"], Decimal)
    assert CustomerAccount.objects.using("payments").get(pk=account.pk).balance == Decimal("60.00")


def test_no_row_matching_the_condition_changes_nothing_and_returns_nothing():
    AccountFactory(customer="dora", balance=Decimal("10.00"))
    returned = update_returning(
        CustomerAccount.objects.using("payments").filter(customer="dora", balance__gte=Decimal("40.00")),
        ["id"],
        balance=F("balance") - Decimal("40.00"),
    )
    assert returned == []
    assert CustomerAccount.objects.using("payments").get(customer="dora").balance == Decimal("10.00")


def make_order() -> Order:
    return Order.objects.using("orders").create(
        id=uuid.uuid4(), key=f"k-{uuid.uuid4()}", customer="erin", total=Decimal("5.00")
    )


def test_a_uuid_key_comes_back_as_a_uuid_and_updated_at_moves_as_save_moves_it():
    order = make_order()
    before = timezone.now()
    returned = update_returning(
        Order.objects.using("orders").filter(pk=order.pk, status=Order.Status.PENDING),
        ["id", "status", "updated_at"],
        status=Order.Status.APPROVED,
    )
    assert returned[0]["id"] == order.pk and isinstance(returned[0]["id"], uuid.UUID)
    assert returned[0]["status"] == Order.Status.APPROVED
    stored = Order.objects.using("orders").get(pk=order.pk)
    assert stored.status == Order.Status.APPROVED
    assert stored.updated_at >= before and stored.updated_at == returned[0]["updated_at"]


def test_an_explicit_updated_at_is_kept():
    order = make_order()
    when = timezone.now() - timedelta(days=3)
    update_returning(Order.objects.using("orders").filter(pk=order.pk), ["id"], updated_at=when)
    assert Order.objects.using("orders").get(pk=order.pk).updated_at == when


def test_a_sliced_queryset_is_refused_as_update_refuses_it():
    make_order()
    with pytest.raises(TypeError):
        update_returning(Order.objects.using("orders").all()[:1], ["id"], status=Order.Status.APPROVED)
