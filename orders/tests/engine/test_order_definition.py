"""The order saga as the engine sees it: registered under its name, its steps in order up to the pivot."""

from orders.saga import ORDER_SAGA
from sagas.engine.definition import get_definition


def test_the_order_saga_is_registered_and_reads_top_to_bottom_to_its_pivot():
    assert get_definition("order") is ORDER_SAGA
    assert [s.name for s in ORDER_SAGA.steps] == [
        "create_order",
        "reserve_stock",
        "charge_payment",
        "approve_order",
        "commit_stock",
    ]
    assert ORDER_SAGA.steps[ORDER_SAGA.pivot_index].name == "approve_order"
