"""The overview's most frequent errors: every style's failures, each under the step that met it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.placement import order_place
from payments.tests.factories import AccountFactory
from sagas.participant import faults
from sagas.selectors import frequent_errors
from sagas.testing.choreography import drain_events
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _by_step() -> dict[tuple[str, bool], dict[str, int]]:
    found: dict[tuple[str, bool], dict[str, int]] = {}
    for error in frequent_errors():
        found.setdefault((error.step_name, error.compensation), {})[error.kind] = error.count
    return found


def test_choreographed_refusals_are_counted(shop):
    AccountFactory(customer="bob", balance=Decimal("10.00"))
    for _ in range(2):
        order_place(customer="bob", sku="WIDGET-1", quantity=2, style="choreography")
    drain_events()
    declined = _by_step()[("payment-declined", False)]
    assert declined == {"Refused (business)": 2}


def test_compensation_errors_are_counted_under_the_compensation_not_the_forward_step(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=1)
    FaultRuleFactory(operation="orders.order_approve", mode="refuse")
    FaultRuleFactory(operation="payments.payment_refund", mode="transient", remaining=2)
    order_place(customer="alice", sku="WIDGET-1", quantity=2)
    drain()
    errors = _by_step()
    assert errors[("charge_payment", False)] == {"InjectedTransientError": 1}
    assert errors[("charge_payment", True)] == {"InjectedTransientError": 2}
    assert errors[("approve_order", False)] == {"InjectedRefusal": 1}


def test_a_choreographed_handler_that_fails_is_counted_under_its_compensation(shop):
    FaultRuleFactory(operation="orders.order_approve", mode="refuse")
    FaultRuleFactory(operation="payments.payment_refund", mode="transient", remaining=1)
    order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    drain_events()
    errors = _by_step()
    assert errors[("charge_payment", True)] == {"Failed (transient)": 1}
    assert ("charge_payment", False) not in errors


def test_the_overview_names_the_compensation_and_the_refusal(shop, client):
    AccountFactory(customer="bob", balance=Decimal("10.00"))
    order_place(customer="bob", sku="WIDGET-1", quantity=2, style="choreography")
    drain_events()
    FaultRuleFactory(operation="orders.order_approve", mode="refuse")
    FaultRuleFactory(operation="payments.payment_refund", mode="transient", remaining=1)
    faults.clear_cache()  # the rules were read (none) a moment ago
    order_place(customer="alice", sku="WIDGET-1", quantity=2)
    drain()
    client.force_login(staff_user("root", superuser=True))
    html = client.get(reverse("admin:sagas_overview")).content.decode()
    errors = html.split('id="overview-errors"', 1)[1].split("</table>", 1)[0]
    assert "payment-declined" in errors and "Refused (business)" in errors
    assert "charge_payment (compensation)" in errors
