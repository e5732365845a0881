"""The API's schema, asked for in Japanese, describes the staff saga API, the token endpoint and itself in Japanese."""

import pytest
import yaml
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

SAGA_OPERATIONS = ("sagas_list", "sagas_retrieve", "sagas_retry", "sagas_compensate", "sagas_resume")


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def _schema(language):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(reverse("api:schema"))
    return yaml.safe_load(response.content)


def _operations(language):
    return {
        operation["operationId"]: operation
        for path in _schema(language)["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


def test_every_saga_operation_is_summed_up_and_described_in_japanese():
    operations = _operations("ja")
    for operation_id in SAGA_OPERATIONS:
        operation = operations[operation_id]
        for text in (operation["summary"], operation["description"]):
            assert not text.isascii(), f"{operation_id}: {text}"
    assert operations["sagas_retrieve"]["summary"] == "サガを読む"


def test_the_token_endpoint_is_summed_up_and_described_in_japanese():
    token = _operations("ja")["token_obtain"]
    assert token["summary"] == "自分の API トークンを取得する"
    assert not token["description"].isascii(), token["description"]


def test_the_saga_list_describes_its_paging_parameters_in_japanese():
    parameters = {p["name"]: p for p in _schema("ja")["paths"]["/api/sagas/"]["get"]["parameters"]}
    for name in ("cursor", "page_size"):
        assert not parameters[name]["description"].isascii(), parameters[name]


def test_the_schema_describes_itself_in_japanese():
    description = _schema("ja")["info"]["description"]
    assert description == "注文・支払い・在庫にまたがるサガとして実行される注文を出します。"


def test_in_japanese_the_schema_download_keeps_a_plain_file_name():
    response = Client(HTTP_ACCEPT_LANGUAGE="ja").get(reverse("api:schema"))
    assert response.headers["Content-Disposition"] == 'inline; filename="Sagas for Django API.yaml"'


def test_in_english_the_saga_and_token_operations_read_as_written():
    operations = _operations("en")
    assert operations["sagas_retrieve"]["summary"] == "Read a saga"
    assert operations["token_obtain"]["summary"] == "Get your API token"
