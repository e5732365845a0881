"""The order's admin page links both sagas of the order: its placement and its cancellation, with its state."""

import pytest
from django.urls import reverse

from orders.tests.cancelling import cancel, cancel_and_drain, place
from sagas.tests.admin_support import staff_user

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def root_client(client):
    client.force_login(staff_user("root", superuser=True))
    return client


def order_page(client, saga) -> str:
    response = client.get(reverse("admin:orders_order_change", args=[saga.business_key]))
    assert response.status_code == 200
    return response.content.decode()


def saga_url(saga) -> str:
    return reverse("admin:sagas_sagainstance_change", args=[saga.pk])


def test_a_cancelled_orders_page_links_its_placement_and_its_cancellation_with_its_state(shop, root_client):
    placement = place()
    cancellation = cancel_and_drain(placement)
    html = order_page(root_client, placement)
    assert "Placement saga" in html and "Cancellation saga" in html
    assert f'href="{saga_url(placement)}"' in html
    assert f'<a href="{saga_url(cancellation)}">{str(cancellation.pk)[:8]}</a> Completed' in html


def test_a_cancellation_under_way_shows_its_state(shop, root_client):
    placement = place()
    cancellation = cancel(placement).saga
    html = order_page(root_client, placement)
    assert f'<a href="{saga_url(cancellation)}">{str(cancellation.pk)[:8]}</a> Pending' in html


def test_an_order_never_cancelled_says_it_has_no_cancellation(shop, root_client):
    placement = place()
    html = order_page(root_client, placement)
    assert f'href="{saga_url(placement)}"' in html
    assert "none: the order was not cancelled after it was confirmed" in html
