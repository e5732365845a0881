"""Operator actions in the admin: confirm first, need their own permission, refuse politely, audit."""

import io
import json
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from orders.placement import order_place
from sagas.models import Direction, SagaInstance, SagaStatus
from sagas.tests.admin_support import saga_row, staff_user

pytestmark = pytest.mark.django_db(databases="__all__")

EXPIRED = {"lease_owner": "host:1:dead", "lease_expires_at": timezone.now() - timedelta(minutes=1)}

# operation, its permission, a saga state that allows it, a state that forbids it, the audit action
CASES = [
    ("retry", "retry_saga", {"status": SagaStatus.FAILED}, {"status": SagaStatus.COMPLETED}, "retry"),
    ("compensate", "compensate_saga", {"status": SagaStatus.FAILED}, {"status": SagaStatus.COMPENSATED}, "compensate"),
    ("resume", "resume_saga", {"status": SagaStatus.RUNNING, **EXPIRED}, {"status": SagaStatus.COMPLETED}, "resume"),
    ("pause", "pause_saga", {"status": SagaStatus.RUNNING}, {"status": SagaStatus.FAILED}, "pause"),
    (
        "unpause",
        "pause_saga",
        {"status": SagaStatus.RUNNING, "paused": True},
        {"status": SagaStatus.RUNNING},
        "unpause",
    ),
    ("skip_step", "skip_saga_step", {"status": SagaStatus.FAILED}, {"status": SagaStatus.RUNNING}, "skip_step"),
    ("resolve", "resolve_saga", {"status": SagaStatus.FAILED}, {"status": SagaStatus.COMPLETED}, "resolve"),
    ("edit_input", "edit_saga_input", {"status": SagaStatus.FAILED}, {"status": SagaStatus.COMPLETED}, "edit_input"),
]
IDS = [case[0] for case in CASES]


def _url(saga, operation):
    return reverse("admin:sagas_sagainstance_operate", args=[saga.pk, operation])


def _operator(operation, permission):
    # Editing input is for superusers only; every other action for a staff user with its permission.
    if operation == "edit_input":
        return staff_user("root", superuser=True)
    return staff_user("operator", permission)


def _form(saga, operation, reason="checked with the payments team"):
    data = {"reason": reason}
    if operation == "edit_input":
        data["new_input"] = json.dumps({**saga.context["input"], "quantity": 2})
    return data


def _audits(saga):
    return list(saga.steps.filter(direction=Direction.OPERATOR))


@pytest.mark.parametrize(("operation", "permission", "allowed", "forbidden", "action"), CASES, ids=IDS)
def test_the_confirmation_page_says_what_will_happen_and_asks_for_a_reason(
    client, operation, permission, allowed, forbidden, action
):
    saga = saga_row(**allowed)
    client.force_login(_operator(operation, permission))
    response = client.get(_url(saga, operation))
    html = response.content.decode()
    assert response.status_code == 200
    assert "What will happen" in html
    assert 'name="reason"' in html
    assert _audits(saga) == []


@pytest.mark.parametrize(("operation", "permission", "allowed", "forbidden", "action"), CASES, ids=IDS)
def test_an_action_with_its_permission_runs_and_writes_its_audit_record_and_history(
    client, operation, permission, allowed, forbidden, action
):
    saga = saga_row(**allowed)
    user = _operator(operation, permission)
    client.force_login(user)
    response = client.post(_url(saga, operation), _form(saga, operation))
    assert response.status_code == 302
    assert response.url == reverse("admin:sagas_sagainstance_change", args=[saga.pk])
    [record] = _audits(saga)
    assert (record.action, record.actor, record.reason) == (action, user.username, "checked with the payments team")
    entry = LogEntry.objects.get(object_id=str(saga.pk))
    assert entry.user == user
    assert "checked with the payments team" in entry.get_change_message()


@pytest.mark.parametrize(("operation", "permission", "allowed", "forbidden", "action"), CASES, ids=IDS)
def test_an_action_without_its_permission_is_forbidden(client, operation, permission, allowed, forbidden, action):
    saga = saga_row(**allowed)
    others = [case[1] for case in CASES if case[1] != permission]
    client.force_login(staff_user("support", *others))
    assert client.get(_url(saga, operation)).status_code == 403
    assert client.post(_url(saga, operation), _form(saga, operation)).status_code == 403
    assert _audits(saga) == []


@pytest.mark.parametrize(("operation", "permission", "allowed", "forbidden", "action"), CASES, ids=IDS)
def test_an_action_the_state_forbids_is_refused_with_a_message(
    client, operation, permission, allowed, forbidden, action
):
    saga = saga_row(**forbidden)
    client.force_login(_operator(operation, permission))
    page = client.get(_url(saga, operation)).content.decode()
    assert "This will be refused" in page
    response = client.post(_url(saga, operation), _form(saga, operation), follow=True)
    assert response.status_code == 200
    assert "refused" in " ".join(str(m) for m in response.context["messages"])
    assert _audits(saga) == []
    assert not LogEntry.objects.filter(object_id=str(saga.pk)).exists()


def test_an_action_without_a_reason_is_not_run(client):
    saga = saga_row(SagaStatus.FAILED)
    client.force_login(staff_user("operator", "retry_saga"))
    response = client.post(_url(saga, "retry"), {"reason": "  "})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.FAILED


def test_editing_input_needs_a_superuser_even_with_the_permission(client):
    saga = saga_row(SagaStatus.FAILED)
    client.force_login(staff_user("operator", "edit_saga_input"))
    assert client.get(_url(saga, "edit_input")).status_code == 403


def test_editing_input_refuses_text_that_is_not_a_json_object(client):
    saga = saga_row(SagaStatus.FAILED)
    client.force_login(staff_user("root", superuser=True))
    response = client.post(_url(saga, "edit_input"), {"reason": "fix", "new_input": "[1, 2"})
    assert "Not valid JSON" in response.content.decode()
    assert _audits(saga) == []


def test_the_compensate_confirmation_lists_the_compensations_in_the_order_they_run(client):
    saga = saga_row(SagaStatus.FAILED, step_index=2, current_step="charge_payment")
    client.force_login(staff_user("operator", "compensate_saga"))
    html = client.get(_url(saga, "compensate")).content.decode()
    listed = html[html.index('<ol class="saga-compensations">') :]
    positions = [
        listed.index(f"<strong>{step}</strong>") for step in ("charge_payment", "reserve_stock", "create_order")
    ]
    assert positions == sorted(positions)


def test_the_compensate_confirmation_of_a_choreographed_saga_says_what_compensate_saga_says(client, shop):
    """Orders cancels first; inventory and payments then undo their parts at the same time, not one by one."""
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    client.force_login(staff_user("operator", "compensate_saga"))
    page = unescape(client.get(_url(saga, "compensate")).content.decode())
    out = io.StringIO()
    call_command("compensate_saga", str(saga.pk), reason="checking", dry_run=True, stdout=out)
    said = out.getvalue()
    heading = "Publishes a cancel request; each service undoes its own part when it hears of the cancel:"
    first = "First, on order-cancel-requested: orders.cancel_order (undoes create_order)."
    then = (
        "Then, on order-cancelled: inventory.release_stock (undoes reserve_stock) and "
        "payments.refund_payment (undoes charge_payment), at the same time."
    )
    for text in (heading, first, then):
        assert text in page and text in said
    assert page.index(heading) < page.index(first) < page.index(then)
    assert "in this order" not in page and "saga-compensations" not in page


def test_the_saga_page_offers_only_the_actions_the_user_may_take(client):
    saga = saga_row(SagaStatus.FAILED)
    client.force_login(staff_user("operator", "retry_saga", "resolve_saga"))
    html = client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    assert _url(saga, "retry") in html and _url(saga, "resolve") in html
    assert _url(saga, "compensate") not in html


def test_a_list_action_confirms_then_acts_on_each_selected_saga_and_reports_refusals(client):
    failed = [saga_row(SagaStatus.FAILED) for _ in range(2)]
    done = saga_row(SagaStatus.COMPLETED)
    client.force_login(staff_user("operator", "resolve_saga"))
    changelist = reverse("admin:sagas_sagainstance_changelist")
    selection = {"action": "resolve_selected", "_selected_action": [str(s.pk) for s in [*failed, done]]}
    confirm = client.post(changelist, {**selection, "index": "0"})
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert html.count("What will happen") == 2 and "This will be refused" in html
    response = client.post(changelist, {**selection, "confirmed": "yes", "reason": "refunded by hand"}, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert "done for 2 of 3" in text and "refused" in text
    assert [s.resolved_by for s in SagaInstance.objects.filter(pk__in=[s.pk for s in failed])] == ["operator"] * 2
    assert LogEntry.objects.filter(object_id__in=[str(s.pk) for s in failed]).count() == 2


def test_a_list_action_is_not_offered_without_its_permission(client):
    saga = saga_row(SagaStatus.FAILED)
    support = staff_user("support")
    changelist = reverse("admin:sagas_sagainstance_changelist")
    client.force_login(support)
    response = client.get(changelist)
    # The list itself is there, with the saga a retry would act on: not an error page.
    assert response.status_code == 200
    assert [shown.pk for shown in response.context["cl"].result_list] == [saga.pk]
    assert str(saga.pk)[:8] in response.content.decode()
    # The one reason the action is missing: this user may view sagas but not retry them.
    assert support.has_perm("sagas.view_sagainstance") and not support.has_perm("sagas.retry_saga")
    assert "retry_selected" not in response.content.decode()
    client.force_login(staff_user("operator", "retry_saga"))
    assert "retry_selected" in client.get(changelist).content.decode()  # the same page, with the permission


@pytest.mark.parametrize("operation", ["retry", "pause", "skip_step"])
def test_engine_only_actions_are_refused_for_a_choreographed_saga(client, operation):
    saga = saga_row(SagaStatus.FAILED if operation != "pause" else SagaStatus.RUNNING, style="choreography")
    client.force_login(staff_user("root", superuser=True))
    assert "This will be refused" in client.get(_url(saga, operation)).content.decode()
    response = client.post(_url(saga, operation), _form(saga, operation), follow=True)
    assert "refused" in " ".join(str(m) for m in response.context["messages"])
    assert _audits(saga) == []


def test_an_unknown_action_or_saga_is_a_not_found_not_an_error(client):
    saga = saga_row(SagaStatus.FAILED)
    client.force_login(staff_user("root", superuser=True))
    assert client.get(_url(saga, "explode")).status_code == 404
    missing = reverse("admin:sagas_sagainstance_operate", args=["00000000-0000-0000-0000-000000000000", "retry"])
    assert client.get(missing, follow=True).status_code == 200  # back to the admin with "does not exist"
