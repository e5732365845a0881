"""Placing an order is the orders app's service; it starts the saga through the engine's generic start."""

import ast
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands

import sagas.services
from orders import events as ev
from orders.placement import order_place
from orders.tests.support.api import make_user
from orders.tests.support.helpers import order_of
from sagas.models import SagaStatus, SagaStyle
from sagas.services import saga_start
from sagas.testing.choreography import drain_events
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


def test_the_engine_starts_a_choreographed_order_through_its_flow_when_asked_by_style(shop):
    saga_input = {
        "order_id": "7b0d6c1e-1a44-4c55-9c0f-8f3b1d2e4a10",
        "customer": "alice",
        "sku": "WIDGET-1",
        "quantity": 1,
        "unit_price": "25.00",
        "total": "25.00",
    }
    saga, created = saga_start(
        "order", saga_input, style=SagaStyle.CHOREOGRAPHY, business_key=saga_input["order_id"], party="alice"
    )
    assert created
    assert (saga.style, saga.current_step) == (SagaStyle.CHOREOGRAPHY, ev.ORDER_REQUESTED)
    drain_events()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert order_of(saga).status == "APPROVED"


@pytest.mark.parametrize("style", SagaStyle.values)
def test_an_order_placed_in_either_style_completes(shop, style):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1, style=style)
    assert saga.style == style
    drain_events() if style == SagaStyle.CHOREOGRAPHY else drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED


def test_the_place_order_command_is_the_orders_apps_and_reports_the_saga_and_its_order(shop):
    make_user("dave", account=Decimal("100.00"))
    out = io.StringIO()
    call_command("place_order", customer="dave", sku="WIDGET-1", quantity="2", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("saga ") and lines[0].endswith(" started")
    assert lines[1].startswith("order ")
    assert lines[2].startswith("follow it with: manage.py saga_status ")
    assert get_commands()["place_order"] == "orders"


def test_the_engines_services_know_no_order_and_no_participant():
    assert not hasattr(sagas.services, "order_place")
    assert not hasattr(sagas.services, "MAX_ORDER_QUANTITY")
    tree = ast.parse(Path(sagas.services.__file__).read_text())
    imported = {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    assert not imported & {"orders", "payments", "inventory"}
