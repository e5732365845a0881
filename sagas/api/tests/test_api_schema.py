"""The OpenAPI schema, the interactive docs served from our own static files, and JSON 404s under /api/."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(databases="__all__")

ENDPOINTS = {
    ("/api/orders/", "get"),
    ("/api/orders/", "post"),
    ("/api/orders/{order_id}/", "get"),
    ("/api/orders/{order_id}/cancel/", "post"),
    ("/api/orders/{order_id}/cancellation/", "get"),
    ("/api/products/", "get"),
    ("/api/sagas/", "get"),
    ("/api/sagas/{saga_id}/", "get"),
    ("/api/sagas/{saga_id}/retry/", "post"),
    ("/api/sagas/{saga_id}/compensate/", "post"),
    ("/api/sagas/{saga_id}/resume/", "post"),
    ("/api/token/", "post"),
}


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def test_the_schema_is_openapi_3_and_lists_every_endpoint():
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == ENDPOINTS


def test_the_schema_documents_the_idempotency_key_and_the_saga_filters():
    schema = APIClient().get("/api/schema/?format=json").json()
    place = schema["paths"]["/api/orders/"]["post"]
    header = next(p for p in place["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["required"] is True
    assert {"202", "400", "409", "422"} <= set(place["responses"])
    filters = {p["name"] for p in schema["paths"]["/api/sagas/"]["get"]["parameters"]}
    assert {"status", "type", "style", "created_after", "created_before", "cursor"} <= filters


def test_the_docs_page_loads_its_assets_from_our_static_files_only():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in asset for asset in assets)
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert "cdn" not in html.lower()
    assert '"validatorUrl": null' in html  # no call to the public validator either
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not among the static files"


def test_the_api_root_links_every_endpoint():
    response = APIClient().get("/api/")
    assert response.status_code == 200
    links = response.json()
    assert set(links) == {"products", "orders", "sagas", "token", "schema", "docs"}
    assert links["orders"] == "http://testserver/api/orders/"


@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/orders/x/y/z/", "/api/sagas/x/retry/y/"])
def test_an_unknown_api_path_is_a_json_404(path):
    response = APIClient().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_a_path_without_its_trailing_slash_is_a_404_that_says_so(method):
    response = getattr(APIClient(enforce_csrf_checks=True), method)("/api/products")
    assert response.status_code == 404
    assert response.json()["detail"].endswith("end with a slash: /api/products/")


def properties(schema: dict, component: str) -> dict:
    return schema["components"]["schemas"][component]["properties"]


@pytest.mark.parametrize(
    "component, field",
    [
        ("OrderPlaceInput", "sku"),
        ("SagaActionInput", "reason"),
        ("SagaResumeInput", "reason"),
        ("TokenObtainInput", "username"),
    ],
)
@pytest.mark.parametrize("value", ["", "   ", "\t\n", "abc\x00"])
def test_the_schema_refuses_the_blank_text_the_api_refuses(component, field, value):
    schema = APIClient().get("/api/schema/?format=json").json()
    assert field in schema["components"]["schemas"][component]["required"]
    field_schema = properties(schema, component)[field]
    assert not Draft202012Validator(field_schema).is_valid(value)
    assert Draft202012Validator(field_schema).is_valid(" WIDGET-1 ")


@pytest.mark.parametrize("value", ["", " ", "a\x00"])
def test_the_schema_refuses_a_blank_type_filter(value):
    schema = APIClient().get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/sagas/"]["get"]["parameters"]
    type_filter = next(p for p in parameters if p["name"] == "type")
    assert not Draft202012Validator(type_filter["schema"]).is_valid(value)
    assert Draft202012Validator(type_filter["schema"]).is_valid("order")
    assert type_filter["description"] == "Saga definition name, e.g. order."


def test_the_token_request_asks_for_a_login_only():
    schema = APIClient().get("/api/schema/?format=json").json()
    request = schema["paths"]["/api/token/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][request["$ref"].rsplit("/", 1)[1]]
    assert set(component["properties"]) == set(component["required"]) == {"username", "password"}
