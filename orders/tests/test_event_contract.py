"""The choreographed order flow's contract: the event names each service declares agree.

Payments and inventory declare the names they publish and listen to in their own events
module, without importing another service; these tests fail when a name drifts.
"""

import pytest

from inventory import events as inventory_events
from orders import events as order_events
from payments import events as payment_events
from sagas.participant.eventbus import subscribers

SERVICES = {"inventory": inventory_events, "payments": payment_events}
FLOW = {value for name, value in vars(order_events).items() if name.isupper()}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_name_a_service_publishes_or_listens_to_is_an_event_of_the_order_flow(service):
    declared = set(SERVICES[service].PUBLISHED) | set(SERVICES[service].LISTENED_TO)
    assert declared <= FLOW, declared - FLOW


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_subscribes_to_exactly_the_names_it_says_it_listens_to(service):
    subscribed = {
        event_type
        for event_type in FLOW
        if any(subscription.name.startswith(f"{service}.") for subscription in subscribers(event_type))
    }
    assert subscribed == set(SERVICES[service].LISTENED_TO)


def test_every_name_a_service_listens_to_is_published_by_another_service_or_the_orders_flow():
    published = {name for module in SERVICES.values() for name in module.PUBLISHED} | {
        order_events.ORDER_CREATED,
        order_events.ORDER_APPROVED,
        order_events.ORDER_CANCELLED,
    }
    for service, module in SERVICES.items():
        missing = set(module.LISTENED_TO) - published
        assert not missing, f"{service} listens to {missing}, which nobody publishes"
