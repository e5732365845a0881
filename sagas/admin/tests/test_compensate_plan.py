"""What "compensate" promises: each compensation has a bounded number of attempts, then FAILED."""

import io
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import reverse

from sagas.engine.styles import COMPENSATE_PLAN_HEADING
from sagas.models import SagaStatus
from sagas.tests.admin_support import saga_row, staff_user

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def failed_at_charge():
    return saga_row(SagaStatus.FAILED, step_index=2, current_step="charge_payment")


def test_the_admin_and_compensate_saga_say_the_same_bounded_promise(client, failed_at_charge):
    client.force_login(staff_user("operator", "compensate_saga"))
    url = reverse("admin:sagas_sagainstance_operate", args=[failed_at_charge.pk, "compensate"])
    page = unescape(client.get(url).content.decode())
    out = io.StringIO()
    call_command("compensate_saga", str(failed_at_charge.pk), reason="checking", dry_run=True, stdout=out)
    said = out.getvalue()
    for text in (page, said):
        assert "until it succeeds" not in text
        assert str(COMPENSATE_PLAN_HEADING) in text
        assert "FAILED" in str(COMPENSATE_PLAN_HEADING)
        assert "refund_payment (undoes charge_payment), up to 5 attempts" in " ".join(text.split()).replace(
            "<strong>", ""
        ).replace("</strong>", "")
