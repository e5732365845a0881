"""The API's schema, asked for in Japanese, describes the orders and products operations in Japanese."""

import pytest
import yaml
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _operations(language):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(reverse("api:schema"))
    schema = yaml.safe_load(response.content)
    return {
        operation["operationId"]: operation
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


def test_every_orders_and_products_operation_is_summed_up_and_described_in_japanese():
    operations = _operations("ja")
    wanted = ("orders_list", "orders_place", "orders_retrieve", "orders_cancel", "orders_cancellation_plan")
    for operation_id in (*wanted, "products_list"):
        operation = operations[operation_id]
        for text in (operation["summary"], operation["description"]):
            assert not text.isascii(), f"{operation_id}: {text}"
    assert operations["orders_retrieve"]["summary"] == "注文を読む"


def test_in_english_the_schema_reads_as_written():
    assert _operations("en")["orders_retrieve"]["summary"] == "Read an order"
