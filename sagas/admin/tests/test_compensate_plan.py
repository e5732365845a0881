"""What "compensate" promises: each compensation has a bounded number of attempts, then FAILED."""

import io
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import reverse

from sagas.engine.styles import COMPENSATE_PLAN_HEADING
from sagas.models import SagaStatus
from sagas.tests.admin_support import staff_user, toy_row

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def failed_at_check():
    return toy_row(SagaStatus.FAILED)  # stopped at check_limit, after book_units


def test_the_admin_and_compensate_saga_say_the_same_bounded_promise(client, failed_at_check):
    client.force_login(staff_user("operator", "compensate_saga"))
    url = reverse("admin:sagas_sagainstance_operate", args=[failed_at_check.pk, "compensate"])
    page = unescape(client.get(url).content.decode())
    out = io.StringIO()
    call_command("compensate_saga", str(failed_at_check.pk), reason="checking", dry_run=True, stdout=out)
    said = out.getvalue()
    for text in (page, said):
        assert "until it succeeds" not in text
        assert str(COMPENSATE_PLAN_HEADING) in text
        assert "FAILED" in str(COMPENSATE_PLAN_HEADING)
        assert "limit_forget (undoes check_limit), up to 5 attempts" in " ".join(text.split()).replace(
            "<strong>", ""
        ).replace("</strong>", "")
