"""One rule per operator action: the admin's preview and button, the service, the API and the command refuse alike.

Each case is a saga the action does not apply to; every adapter must give the same reason,
word for word, since all of them ask the one rule of that action.
"""

import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sagas.admin.operations import OPERATIONS
from sagas.engine.styles import OperatorAction
from sagas.errors import ActionNotAllowed
from sagas.models import SagaInstance, SagaStatus
from sagas.tests.admin_support import saga_row, staff_user
from sagas.tests.api_helpers import make_user, token_client

pytestmark = pytest.mark.django_db(databases="__all__")

LEASED = "leased by a live worker"

CASES = [
    (OperatorAction.RETRY, {"status": SagaStatus.RUNNING}),
    (OperatorAction.RETRY, {"status": SagaStatus.COMPLETED}),
    (OperatorAction.COMPENSATE, {"status": SagaStatus.COMPLETED}),
    (OperatorAction.COMPENSATE, {"status": SagaStatus.COMPENSATING, "direction": "COMPENSATION"}),
    (OperatorAction.COMPENSATE, {"status": SagaStatus.FAILED, "step_index": 4, "current_step": "commit_stock"}),
    (OperatorAction.RESUME, {"status": SagaStatus.RUNNING, LEASED: True}),
    (OperatorAction.RESUME, {"status": SagaStatus.RUNNING, "paused": True}),
    (OperatorAction.RESUME, {"status": SagaStatus.COMPLETED}),
    (OperatorAction.PAUSE, {"status": SagaStatus.FAILED}),
    (OperatorAction.PAUSE, {"status": SagaStatus.RUNNING, "paused": True}),
    (OperatorAction.UNPAUSE, {"status": SagaStatus.RUNNING}),
    (OperatorAction.EDIT_INPUT, {"status": SagaStatus.RUNNING}),
    (OperatorAction.SKIP_STEP, {"status": SagaStatus.COMPLETED}),
    (OperatorAction.SKIP_STEP, {"status": SagaStatus.FAILED, "step_index": 9}),
    (OperatorAction.RESOLVE, {"status": SagaStatus.RUNNING}),
    (OperatorAction.RESOLVE, {"status": SagaStatus.FAILED, "resolved_by": "olga", "resolved": True}),
    (OperatorAction.RETRY, {"status": SagaStatus.FAILED, "style": "choreography"}),
    (OperatorAction.PAUSE, {"status": SagaStatus.RUNNING, "style": "choreography"}),
    (OperatorAction.SKIP_STEP, {"status": SagaStatus.FAILED, "style": "choreography"}),
    (OperatorAction.COMPENSATE, {"status": SagaStatus.COMPLETED, "style": "choreography"}),
]

# The actions the API and the operator commands offer.
API_ACTIONS = (OperatorAction.RETRY, OperatorAction.COMPENSATE, OperatorAction.RESUME)


def make_saga(fields: dict) -> SagaInstance:
    fields = dict(fields)
    if fields.pop(LEASED, False):
        fields.update(lease_owner="host:1:abc", lease_expires_at=timezone.now() + timedelta(minutes=5))
    if fields.pop("resolved", False):
        fields["resolved_at"] = timezone.now()
    return saga_row(**fields)


def service_refusal(action: OperatorAction, saga: SagaInstance) -> str:
    extra = {"new_input": {**saga.context["input"], "quantity": 2}} if action == OperatorAction.EDIT_INPUT else {}
    with pytest.raises(ActionNotAllowed) as refused:
        OPERATIONS[action].service(saga.pk, actor="olga", reason="checking", **extra)
    return str(refused.value)


@pytest.mark.parametrize(("action", "fields"), CASES, ids=[f"{a}-{'-'.join(map(str, f.values()))}" for a, f in CASES])
def test_every_adapter_gives_the_one_rules_reason_for_refusing_an_action(client, action, fields):
    saga = make_saga(fields)
    before = SagaInstance.objects.values().get(pk=saga.pk)

    preview = OPERATIONS[action].explain(saga).refusal
    assert preview, f"{action} should be refused for {fields}"
    assert service_refusal(action, saga) == preview

    client.force_login(staff_user("root", superuser=True))
    page = client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    assert f'title="Not now: {escape(preview)}"' in page
    confirm = client.get(reverse("admin:sagas_sagainstance_operate", args=[saga.pk, action])).content.decode()
    assert escape(preview) in confirm

    if action in API_ACTIONS:
        cache.clear()
        api = token_client(make_user("api-operator", staff=True, perms=("view_sagainstance", f"{action}_saga")))
        response = api.post(f"/api/sagas/{saga.pk}/{action}/", {"reason": "checking"}, format="json")
        assert (response.status_code, response.json()["detail"]) == (409, preview)
        with pytest.raises(CommandError) as refused:
            call_command(f"{action}_saga", str(saga.pk), reason="checking", stdout=io.StringIO())
        assert str(refused.value) == preview

    assert SagaInstance.objects.values().get(pk=saga.pk) == before  # nothing moved
