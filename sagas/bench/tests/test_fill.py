"""The benchmark fill writes the registered saga's rows and its participants' rows, consistent with each other."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from sagas.bench.fill import fill
from sagas.models import SagaInstance, SagaStatus, SagaStepLog

pytestmark = pytest.mark.django_db(databases="__all__")


def test_filled_sagas_match_their_participants_and_show_in_the_admin(admin_client):
    written = fill(40, seed=7, failed_share=0.2, stuck_share=0.0)

    assert written["sagas"] == SagaInstance.objects.count() == 40
    assert written["steps"] == SagaStepLog.objects.count()
    assert written["orders"] == written["order_lines"] == 40
    completed = SagaInstance.objects.filter(status=SagaStatus.COMPLETED).count()
    assert written["payments"] == written["reservations"] == written["ledger_entries"] == completed > 0
    assert SagaInstance.objects.filter(status=SagaStatus.FAILED).exists()
    # Every saga agrees with its order, stock and payment: no invariant is broken (exit 1 otherwise).
    call_command("check_consistency", stdout=StringIO())
    saga = SagaInstance.objects.filter(status=SagaStatus.COMPLETED).first()
    page = admin_client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    assert f"Order {saga.business_key}" in page and "Payment #" in page and "Reservation #" in page
