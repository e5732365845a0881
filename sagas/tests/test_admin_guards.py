"""What an operator may see and count: actions need the right to view, and a paused saga is not stuck."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sagas import selectors
from sagas.metrics import attention_figures
from sagas.models import SagaInstance, SagaStatus
from sagas.tests.admin_support import saga_row, staff_user

pytestmark = pytest.mark.django_db(databases="__all__")

EXPIRED = {"lease_owner": "host:1:dead", "lease_expires_at": timezone.now() - timedelta(minutes=5)}


def test_an_action_permission_without_the_right_to_view_sagas_is_forbidden(client):
    saga = saga_row(SagaStatus.FAILED)
    user = staff_user("blind", "retry_saga")
    user.user_permissions.remove(*user.user_permissions.filter(codename="view_sagainstance"))
    client.force_login(user)
    url = reverse("admin:sagas_sagainstance_operate", args=[saga.pk, "retry"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "let me in"}).status_code == 403
    saga.refresh_from_db()
    assert saga.status == SagaStatus.FAILED


def test_a_paused_saga_with_an_expired_lease_is_not_listed_or_counted_as_stuck(client):
    paused = saga_row(SagaStatus.RUNNING, paused=True, **EXPIRED)
    stuck = saga_row(SagaStatus.RUNNING, **EXPIRED)
    assert list(selectors.sagas_stuck().values_list("pk", flat=True)) == [stuck.pk]
    assert attention_figures(timezone.now())["stuck"] == 1
    client.force_login(staff_user("viewer"))
    html = client.get(reverse("admin:sagas_sagainstance_changelist"), {"stuck": "yes"}).content.decode()
    assert reverse("admin:sagas_sagainstance_change", args=[stuck.pk]) in html
    assert reverse("admin:sagas_sagainstance_change", args=[paused.pk]) not in html
    assert SagaInstance.objects.filter(paused=True).count() == 1
