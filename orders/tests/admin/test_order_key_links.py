"""The saga list and page link both order sagas' business key, the order's id, to the order."""

import re

import pytest
from django.urls import reverse

from orders.cancellation_saga import NAME as CANCELLATION
from orders.saga import ORDER_SAGA
from sagas.tests.admin_support import saga_row, staff_user

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def root(client):
    client.force_login(staff_user("root", superuser=True))
    return client


@pytest.mark.parametrize("definition", [ORDER_SAGA.name, CANCELLATION])
def test_each_order_sagas_key_links_to_its_order_in_the_list_and_on_its_page(root, definition):
    saga = saga_row(definition_name=definition)
    link = (
        f'<a href="{reverse("admin:orders_order_change", args=[saga.business_key])}">{str(saga.business_key)[:8]}</a>'
    )

    listed = root.get(reverse("admin:sagas_sagainstance_changelist")).content.decode()
    page = root.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()

    assert link in listed and link in page


def test_the_key_column_reads_order_when_the_list_shows_cancellations_only(root):
    saga_row(definition_name=CANCELLATION)

    page = root.get(reverse("admin:sagas_sagainstance_changelist"), {"type": CANCELLATION}).content.decode()

    header = re.search(r'<th scope="col" class="column-business_key">(.*?)</th>', page, re.S).group(1)
    assert re.sub(r"<[^>]+>|\s", "", header) == "Order"


def test_a_placement_page_lists_the_cancellation_of_the_same_order(root):
    placement = saga_row(definition_name=ORDER_SAGA.name, status="COMPLETED")
    cancellation = saga_row(definition_name=CANCELLATION, status="RUNNING", business_key=placement.business_key)

    page = root.get(reverse("admin:sagas_sagainstance_change", args=[placement.pk])).content.decode()

    shown = re.search(r'<ul class="saga-same-key"[^>]*>(.*?)</ul>', page, re.S).group(1)
    assert reverse("admin:sagas_sagainstance_change", args=[cancellation.pk]) in shown
    assert "(order cancellation)</a> RUNNING" in shown
