"""The saga page names the kind of saga as people call it: "Saga 1a2b3c4d (order placement)"."""

import re

import pytest
from django.urls import reverse

from orders.placement import order_place
from sagas.tests.admin_support import staff_user

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.mark.parametrize("style", ["orchestration", "choreography"])
def test_an_order_saga_page_is_titled_order_placement(shop, client, style):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1, style=style)
    client.force_login(staff_user("root", superuser=True))
    page = client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    title = f"Saga {str(saga.pk)[:8]} (order placement)"
    assert f"<title>{title} |" in page
    assert re.search(rf"<h1>\s*{re.escape(title)}\s*</h1>", page)
