"""What an operator may see and count: actions need the right to view sagas; stuck in the list and the metric."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sagas import selectors
from sagas.models import SagaStatus
from sagas.ops.metrics import attention_figures
from sagas.tests.admin_support import staff_user, toy_row

pytestmark = pytest.mark.django_db(databases="__all__")

EXPIRED = {"lease_owner": "host:1:dead", "lease_expires_at": timezone.now() - timedelta(minutes=5)}


def test_an_action_permission_without_the_right_to_view_sagas_is_forbidden(client):
    saga = toy_row(SagaStatus.FAILED)
    user = staff_user("blind", "retry_saga")
    user.user_permissions.remove(*user.user_permissions.filter(codename="view_sagainstance"))
    client.force_login(user)
    url = reverse("admin:sagas_sagainstance_operate", args=[saga.pk, "retry"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "let me in"}).status_code == 403
    saga.refresh_from_db()
    assert saga.status == SagaStatus.FAILED


def test_the_stuck_metric_counts_the_stuck_list_less_its_paused_sagas(client):
    past = timezone.now() - timedelta(minutes=5)
    stuck = [
        toy_row(SagaStatus.RUNNING, **EXPIRED),
        toy_row(SagaStatus.PENDING, paused=True, deadline_at=past),
    ]
    moving = toy_row(SagaStatus.RUNNING, lease_owner="w", lease_expires_at=timezone.now() + timedelta(minutes=5))
    assert set(selectors.sagas_stuck().values_list("pk", flat=True)) == {s.pk for s in stuck}
    figures = attention_figures(timezone.now())
    assert (figures["stuck"], figures["paused"]) == (1, 1)
    client.force_login(staff_user("viewer"))
    html = client.get(reverse("admin:sagas_sagainstance_changelist"), {"stuck": "yes"}).content.decode()
    for saga in stuck:
        assert reverse("admin:sagas_sagainstance_change", args=[saga.pk]) in html
    assert reverse("admin:sagas_sagainstance_change", args=[moving.pk]) not in html
