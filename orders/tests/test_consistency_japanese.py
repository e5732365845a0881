"""check_consistency speaks the operator's language: the order invariants' violations and titles in
Japanese, with their values; the JSON report keeps the English a machine reads."""

import json

import pytest
from django.core.management import call_command
from django.utils import translation

from inventory.models import Reservation
from orders.models import Order
from orders.placement import order_place
from sagas.models import SagaStatus
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def broken(shop):
    """A completed order whose row reads PENDING and whose reservation was released."""
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    Order.objects.using("orders").filter(pk=saga.business_key).update(status=Order.Status.PENDING)
    Reservation.objects.using("inventory").filter(order_id=saga.business_key).update(status=Reservation.Status.RELEASED)
    return saga


def _run(*args):
    with pytest.raises(SystemExit):
        call_command("check_consistency", *args)


def test_the_violations_read_in_japanese_with_their_values(broken, capsys):
    with translation.override("ja"):
        _run()
    out = capsys.readouterr().out
    assert "サガは完了しましたが、注文は PENDING です" in out
    assert "引き渡した在庫は なし ですが、注文は 2 x WIDGET-1 です" in out
    assert "完了したサガには、確定した注文、合計額の支払いが 1 件、引き渡し済みの在庫がある" in out
    assert "the saga completed" not in out


def test_the_json_report_keeps_the_english(broken, capsys):
    with translation.override("ja"):
        _run("--json")
    messages = [v["message"] for v in json.loads(capsys.readouterr().out)["violations"]]
    assert "the saga completed but its order is PENDING" in messages
    assert "committed stock nothing but ordered 2 x WIDGET-1" in messages
