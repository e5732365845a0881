"""The staff saga API: lists with filters and cursors, one saga with its steps, and the operator actions."""

import base64
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.fault_points import InventoryFault
from inventory.tests.factories import ProductFactory
from orders.placement import order_place
from orders.tests.support.api import make_user
from sagas.models import Direction, FaultRule, SagaInstance, SagaStatus
from sagas.participant.customers import customer_key_for_username
from sagas.testing.drain import drain
from sagas.tests.api_helpers import token_client
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

ALL_ACTIONS = ("retry_saga", "compensate_saga", "resume_saga")
VIEW = "view_sagainstance"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.fixture
def shop(db):
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=100)
    make_user("alice", account=Decimal("1000.00"))


@pytest.fixture
def operator(shop):
    return token_client(make_user("operator", staff=True, perms=(VIEW, *ALL_ACTIONS)))


def started(quantity: int = 1) -> SagaInstance:
    saga, _ = order_place(customer=customer_key_for_username("alice"), sku="WIDGET-1", quantity=quantity)
    return saga


def finished(quantity: int = 1) -> SagaInstance:
    saga = started(quantity)
    drain()
    saga.refresh_from_db()
    return saga


def failed() -> SagaInstance:
    """A saga stopped as FAILED after its pivot: committing the stock never succeeds."""
    # As many failures as the step has attempts, so a retry afterwards succeeds.
    FaultRuleFactory(operation=InventoryFault.RESERVATION_COMMIT, mode=FaultRule.Mode.TRANSIENT, remaining=10)
    saga = finished()
    assert saga.status == SagaStatus.FAILED
    return saga


# --- reading -------------------------------------------------------------------------------------


def test_staff_list_sagas_newest_first(operator):
    first, second = started(), started()
    body = operator.get("/api/sagas/").json()
    assert [s["id"] for s in body["results"]] == [str(second.pk), str(first.pk)]
    assert body["results"][0]["type"] == "order"


def test_a_saga_shows_its_business_key_and_party_by_username_in_the_list_and_alone(operator):
    saga = started()
    listed = operator.get("/api/sagas/").json()["results"][0]
    alone = operator.get(f"/api/sagas/{saga.pk}/").json()
    for body in (listed, alone):
        assert (body["business_key"], body["party"]) == (str(saga.business_key), "alice")
        assert "order_id" not in body and "customer" not in body


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=COMPLETED", ["done"]),
        ("status=PENDING", ["waiting"]),
        ("type=order", ["waiting", "done"]),
        ("type=other", []),
        ("style=orchestration", ["waiting", "done"]),
        ("style=choreography", []),
    ],
)
def test_the_saga_list_filters_by_status_type_and_style(operator, query, expected):
    named = {str(finished().pk): "done", str(started().pk): "waiting"}
    body = operator.get(f"/api/sagas/?{query}").json()
    assert [named[s["id"]] for s in body["results"]] == expected


def test_the_saga_list_filters_by_creation_time(operator):
    old, new = started(), started()
    SagaInstance.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    after = operator.get("/api/sagas/", {"created_after": since}).json()["results"]
    before = operator.get("/api/sagas/", {"created_before": since}).json()["results"]
    assert [s["id"] for s in after] == [str(new.pk)]
    assert [s["id"] for s in before] == [str(old.pk)]


def test_a_time_with_an_offset_the_database_cannot_store_is_compared_in_utc(operator):
    saga = started()
    response = operator.get("/api/sagas/", {"created_before": "2170-11-15T04:57:03+20:50"})
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["results"]] == [str(saga.pk)]


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=SLEEPING", "status"),
        ("status=", "status"),
        ("created_after=yesterday", "created_after"),
        ("created_before=", "created_before"),
        ("created_after=9999-12-31T23:59:59-05:00", "created_after"),
        ("page_size=0", "page_size"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(operator, query, field):
    response = operator.get(f"/api/sagas/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_the_saga_list_pages_by_cursor_without_overlap(operator):
    ids = [str(started().pk) for _ in range(5)]
    seen, url = [], "/api/sagas/?page_size=2"
    while url:
        page = operator.get(url).json()
        seen += [s["id"] for s in page["results"]]
        url = page["next"]
    assert seen == ids[::-1]


def cursor(**fields: str) -> str:
    """A cursor as the paginator encodes one, with whatever fields a tamperer likes."""
    return base64.b64encode(urlencode(fields).encode()).decode()


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        cursor(p="not a time"),
        cursor(p="\x00"),
        cursor(p="99999-01-01"),
        cursor(p="2020-01-01T00:00:00", r="1", o="-5"),
    ],
)
@pytest.mark.parametrize("path", ["/api/sagas/", "/api/orders/"])
def test_a_tampered_cursor_is_a_404(operator, path, value):
    response = operator.get(path, {"cursor": value})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


def test_a_cursor_whose_time_has_an_offset_the_database_cannot_store_still_pages(operator):
    saga = started()
    response = operator.get("/api/sagas/", {"cursor": cursor(p="2170-01-01T00:00:00+20:50")})
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["results"]] == [str(saga.pk)]


def test_a_saga_reads_with_its_step_log(operator):
    saga = finished()
    body = operator.get(f"/api/sagas/{saga.pk}/").json()
    assert body["status"] == "COMPLETED"
    assert body["context"]["input"]["sku"] == "WIDGET-1"
    assert [s["step_name"] for s in body["steps"]][:2] == ["create_order", "reserve_stock"]
    assert body["steps"][0]["idempotency_key"]


@pytest.mark.parametrize("saga_id", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_a_malformed_or_unknown_saga_id_is_a_404(operator, saga_id):
    assert operator.get(f"/api/sagas/{saga_id}/").status_code == 404
    assert operator.post(f"/api/sagas/{saga_id}/retry/", {"reason": "x"}).status_code == 404


@pytest.mark.parametrize("path", ["/api/sagas/", "/api/sagas/00000000-0000-0000-0000-000000000000/"])
def test_customers_may_not_see_sagas(shop, path):
    customer = token_client(make_user("carol"))
    response = customer.get(path)
    assert response.status_code == 403
    assert response.json() == {"detail": "Only staff may see sagas."}


def test_without_credentials_the_saga_api_answers_401(shop):
    assert APIClient().get("/api/sagas/").status_code == 401
    assert APIClient().post("/api/sagas/x/retry/", {"reason": "r"}).status_code == 401


# --- operator actions ------------------------------------------------------------------------------


def test_retry_runs_the_failed_step_again_and_leaves_an_audit_record(operator):
    saga = failed()
    response = operator.post(f"/api/sagas/{saga.pk}/retry/", {"reason": "stock service is back"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "RUNNING"
    audit = saga.steps.get(direction=Direction.OPERATOR)
    assert (audit.action, audit.actor, audit.reason) == ("retry", "operator", "stock service is back")
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED


def test_compensate_undoes_a_saga_before_its_pivot(operator):
    saga = started()
    response = operator.post(f"/api/sagas/{saga.pk}/compensate/", {"reason": "customer called"}, format="json")
    assert response.status_code == 200
    assert saga.steps.get(direction=Direction.OPERATOR).action == "compensate"
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED


def test_resume_hands_a_saga_back_to_the_workers(operator):
    saga = started()
    response = operator.post(f"/api/sagas/{saga.pk}/resume/", {"reason": "looks stuck"}, format="json")
    assert response.status_code == 200
    assert saga.steps.get(direction=Direction.OPERATOR).action == "resume"


def test_resume_refuses_a_saga_a_worker_holds_unless_forced(operator):
    saga = started()
    SagaInstance.objects.filter(pk=saga.pk).update(
        lease_owner="worker-1", lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    url = f"/api/sagas/{saga.pk}/resume/"
    refused = operator.post(url, {"reason": "stuck?"}, format="json")
    assert refused.status_code == 409
    assert "worker-1" in refused.json()["detail"]
    assert operator.post(url, {"reason": "it is", "force": True}, format="json").status_code == 200


def test_an_action_the_sagas_state_forbids_is_a_409_with_the_reason(operator):
    saga = finished()
    response = operator.post(f"/api/sagas/{saga.pk}/retry/", {"reason": "again"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "Only a FAILED saga can be retried; this one is COMPLETED."
    assert not saga.steps.filter(direction=Direction.OPERATOR).exists()


def test_compensating_past_the_pivot_is_a_409(operator):
    saga = failed()
    response = operator.post(f"/api/sagas/{saga.pk}/compensate/", {"reason": "undo"}, format="json")
    assert response.status_code == 409
    assert "past its pivot" in response.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_an_action_without_a_reason_is_a_400(operator, body):
    saga = failed()
    response = operator.post(f"/api/sagas/{saga.pk}/retry/", body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()


@pytest.mark.parametrize("action, permission", [("retry", "retry_saga"), ("compensate", "compensate_saga")])
def test_an_action_needs_its_own_permission(shop, action, permission):
    saga = failed()
    others = tuple(p for p in ALL_ACTIONS if p != permission)
    staff = token_client(make_user("junior", staff=True, perms=(VIEW, *others)))
    response = staff.post(f"/api/sagas/{saga.pk}/{action}/", {"reason": "try"}, format="json")
    assert response.status_code == 403
    assert f"sagas.{permission}" in response.json()["detail"]
    assert not saga.steps.filter(direction=Direction.OPERATOR).exists()


ACTIONS = [("retry", {"reason": "r"}), ("compensate", {"reason": "r"}), ("resume", {"reason": "r"})]


def test_staff_without_permissions_may_neither_read_nor_act(shop):
    saga = failed()
    staff = token_client(make_user("newcomer", staff=True))
    for path in ("/api/sagas/", f"/api/sagas/{saga.pk}/"):
        response = staff.get(path)
        assert response.status_code == 403
        assert response.json() == {"detail": "You need the sagas.view_sagainstance permission to see sagas."}
    for action, body in ACTIONS:
        assert staff.post(f"/api/sagas/{saga.pk}/{action}/", body, format="json").status_code == 403
    assert not saga.steps.filter(direction=Direction.OPERATOR).exists()


def test_staff_with_the_view_permission_read_sagas_but_may_not_act(shop):
    saga = failed()
    staff = token_client(make_user("viewer", staff=True, perms=(VIEW,)))
    assert [s["id"] for s in staff.get("/api/sagas/").json()["results"]] == [str(saga.pk)]
    assert staff.get(f"/api/sagas/{saga.pk}/").json()["status"] == "FAILED"
    for action, body in ACTIONS:
        response = staff.post(f"/api/sagas/{saga.pk}/{action}/", body, format="json")
        assert response.status_code == 403
        assert response.json()["detail"] == f"You need the sagas.{action}_saga permission for this action."
    assert not saga.steps.filter(direction=Direction.OPERATOR).exists()


def test_an_action_permission_without_the_view_permission_is_not_enough(shop):
    saga = failed()
    staff = token_client(make_user("blind", staff=True, perms=ALL_ACTIONS))
    response = staff.post(f"/api/sagas/{saga.pk}/retry/", {"reason": "r"}, format="json")
    assert response.status_code == 403
    assert "sagas.view_sagainstance" in response.json()["detail"]
    assert not saga.steps.filter(direction=Direction.OPERATOR).exists()


@pytest.mark.parametrize("action", ["retry", "compensate", "resume"])
def test_staff_with_view_and_the_actions_permission_may_act(shop, action):
    saga = failed() if action == "retry" else started()
    staff = token_client(make_user("doer", staff=True, perms=(VIEW, f"{action}_saga")))
    response = staff.post(f"/api/sagas/{saga.pk}/{action}/", {"reason": "needed"}, format="json")
    assert response.status_code == 200
    assert saga.steps.get(direction=Direction.OPERATOR).action == action


@pytest.mark.parametrize("action, fields", [("retry", {"reason"}), ("resume", {"reason", "force"})])
def test_the_browsable_action_page_offers_a_form_with_the_actions_input(shop, action, fields):
    saga = failed()
    browser = Client()
    browser.force_login(make_user("browsing", staff=True, perms=(VIEW, f"{action}_saga")))
    html = browser.get(f"/api/sagas/{saga.pk}/{action}/", HTTP_ACCEPT="text/html").content.decode()
    form = re.search(r'<form action="[^"]*" method="POST" enctype="multipart/form-data".*?</form>', html, re.S)
    assert form, "the page has no form for the action"
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', form.group(0)))
    assert names - {"csrfmiddlewaretoken"} == fields


def test_a_customer_may_not_act_on_a_saga_even_their_own(shop):
    saga = failed()
    alice = token_client(make_user("alice2", perms=ALL_ACTIONS))
    assert alice.post(f"/api/sagas/{saga.pk}/retry/", {"reason": "mine"}, format="json").status_code == 403


def test_a_superuser_may_act_without_explicit_permissions(shop):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", None)
    saga = failed()
    response = token_client(root).post(f"/api/sagas/{saga.pk}/retry/", {"reason": "fix"}, format="json")
    assert response.status_code == 200
