"""Every fault point the order saga's participants pass is registered, so an operator can plant a rule on it."""

import ast
from pathlib import Path

import pytest

import inventory
import orders
import payments
from inventory.fault_points import InventoryFault
from orders.fault_points import OrderFault
from payments.fault_points import PaymentFault
from sagas.participant import faults

SERVICES = {orders: OrderFault, payments: PaymentFault, inventory: InventoryFault}


def injected_points(package) -> set[str]:
    """The point named by each `faults.inject("...")` call in the package's services module."""
    tree = ast.parse((Path(package.__file__).parent / "services.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "inject"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


@pytest.mark.parametrize("package", list(SERVICES), ids=lambda package: package.__name__)
def test_each_point_a_service_passes_is_its_own_and_registered(package):
    passed = injected_points(package)

    assert passed, f"{package.__name__}.services passes no fault point"
    assert passed <= set(SERVICES[package])
    assert passed <= set(faults.fault_points())


@pytest.mark.parametrize("package", list(SERVICES), ids=lambda package: package.__name__)
def test_each_point_declared_is_passed_by_the_service(package):
    assert set(SERVICES[package]) <= injected_points(package)
