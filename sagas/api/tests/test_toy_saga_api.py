"""The staff saga API on the toy booking: a saga no business app defines is listed, read and steered."""

import pytest
from django.core.cache import cache

from sagas.models import Direction, SagaStatus
from sagas.participant import faults
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.api_helpers import make_user, token_client
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.fixture
def operator(db):
    perms = ("view_sagainstance", "retry_saga", "compensate_saga", "resume_saga")
    return token_client(make_user("operator", staff=True, perms=perms))


def test_staff_list_toy_bookings_newest_first_under_their_type(operator):
    first, second = saga_start(toy.NAME, {"units": 1})[0], saga_start(toy.NAME, {"units": 2})[0]
    body = operator.get("/api/sagas/", {"type": toy.NAME}).json()
    assert [s["id"] for s in body["results"]] == [str(second.pk), str(first.pk)]
    assert {s["type"] for s in body["results"]} == {toy.NAME}
    assert (body["results"][0]["business_key"], body["results"][0]["party"]) == (None, "")


@pytest.mark.parametrize("query, expected", [("status=COMPLETED", ["done"]), ("status=COMPENSATED", ["refused"])])
def test_the_list_filters_toy_bookings_by_status(operator, query, expected):
    named = {str(toy.booked(2).pk): "done", str(toy.booked(toy.LIMIT + 1).pk): "refused"}
    body = operator.get(f"/api/sagas/?type={toy.NAME}&{query}").json()
    assert [named[s["id"]] for s in body["results"]] == expected


def test_a_toy_booking_reads_with_its_input_and_step_log(operator):
    saga = toy.booked(toy.LIMIT + 1)
    body = operator.get(f"/api/sagas/{saga.pk}/").json()
    assert body["status"] == "COMPENSATED"
    assert body["context"]["input"] == {"units": toy.LIMIT + 1}
    assert [(s["step_name"], s["direction"], s["status"]) for s in body["steps"]] == [
        ("book_units", "FORWARD", "SUCCEEDED"),
        ("check_limit", "FORWARD", "REFUSED"),
        ("book_units", "COMPENSATION", "SUCCEEDED"),
    ]
    assert all(step["idempotency_key"] for step in body["steps"])


def test_retry_finishes_a_failed_compensation_and_leaves_an_audit_record(operator):
    down = FaultRuleFactory(operation=toy.fault_point("release_units"), mode="transient")
    saga = toy.booked(toy.LIMIT + 1)
    assert saga.status == SagaStatus.FAILED
    down.delete()
    faults.clear_cache()

    response = operator.post(f"/api/sagas/{saga.pk}/retry/", {"reason": "the ledger is back"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "COMPENSATING"
    audit = saga.steps.get(direction=Direction.OPERATOR)
    assert (audit.action, audit.actor, audit.reason) == ("retry", "operator", "the ledger is back")
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED


def test_compensate_undoes_a_booking_before_its_pivot(operator):
    saga = saga_start(toy.NAME, {"units": 2})[0]
    response = operator.post(f"/api/sagas/{saga.pk}/compensate/", {"reason": "changed my mind"}, format="json")
    assert response.status_code == 200
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert saga.steps.get(direction=Direction.OPERATOR).action == "compensate"


def test_resume_hands_a_booking_back_to_the_workers(operator):
    saga = saga_start(toy.NAME, {"units": 2})[0]
    response = operator.post(f"/api/sagas/{saga.pk}/resume/", {"reason": "looks stuck"}, format="json")
    assert response.status_code == 200
    assert saga.steps.get(direction=Direction.OPERATOR).action == "resume"
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED


def test_an_action_the_bookings_state_forbids_is_a_409_with_the_reason(operator):
    saga = toy.booked(1)
    response = operator.post(f"/api/sagas/{saga.pk}/retry/", {"reason": "again"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "Only a FAILED saga can be retried; this one is COMPLETED."
