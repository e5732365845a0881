"""The admin shows and steers a saga no business app defines: the toy booking's page, list and operator actions."""

import html
import re

import pytest
from django.urls import reverse

from sagas.models import Direction, SagaStatus
from sagas.participant import faults
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_toy_saga_page_is_titled_by_its_label_and_lists_each_step_it_ran(client):
    saga, _ = saga_start(toy.NAME, {"units": toy.LIMIT + 1})
    drain()
    client.force_login(staff_user("root", superuser=True))

    response = client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    title = f"Saga {str(saga.pk)[:8]} (toy booking)"
    assert re.search(rf"<h1>\s*{re.escape(title)}\s*</h1>", page)
    text = _text(page)
    assert "Status: COMPENSATED" in text
    step_log = text[text.index("Step log") :]
    assert re.search(
        r"book_units Forward 1 Succeeded .*"
        r"check_limit Forward 1 Refused \(business\) .* check_limit: TooManyUnits: At most 5 units\. "
        r"book_units Compensation 1 Succeeded",
        step_log,
    )


def _text(page: str) -> str:
    """The page as a person reads it: tags and scripts gone, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_saga_list_finds_toy_sagas_by_their_type(client):
    saga, _ = saga_start(toy.NAME, {"units": 1})
    drain()
    client.force_login(staff_user("root", superuser=True))

    page = client.get(reverse("admin:sagas_sagainstance_changelist"), {"definition_name": toy.NAME}).content.decode()

    assert str(saga.pk)[:8] in page


def _operate(saga, operation: str) -> str:
    return reverse("admin:sagas_sagainstance_operate", args=[saga.pk, operation])


def test_the_compensate_confirmation_lists_the_toys_compensations_in_the_order_they_run_then_runs_them(client):
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=1)
    saga, _ = saga_start(toy.NAME, {"units": 2})
    drain(fast_forward=False)  # the check failed once; its retry waits for its backoff
    client.force_login(staff_user("operator", "compensate_saga"))

    html = client.get(_operate(saga, "compensate")).content.decode()
    listed = html[html.index('<ol class="saga-compensations">') :]
    assert listed.index("<strong>check_limit</strong>") < listed.index("<strong>book_units</strong>")

    response = client.post(_operate(saga, "compensate"), {"reason": "the customer called"})
    assert response.status_code == 302
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    assert sorted(kind for _, kind, _ in toy.ledger_rows([str(saga.pk)])) == ["BOOKED", "RELEASED"]
    audit = saga.steps.get(direction=Direction.OPERATOR)
    assert (audit.action, audit.actor, audit.reason) == ("compensate", "operator", "the customer called")


def test_a_failed_toy_saga_is_retried_from_its_page_to_the_end(client):
    down = FaultRuleFactory(operation=toy.fault_point("release_units"), mode="transient")
    saga = toy.booked(toy.LIMIT + 1)
    assert saga.status == SagaStatus.FAILED
    down.delete()
    faults.clear_cache()
    client.force_login(staff_user("operator", "retry_saga"))

    page = client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk])).content.decode()
    assert _operate(saga, "retry") in page and _operate(saga, "compensate") not in page
    assert client.post(_operate(saga, "retry"), {"reason": "the ledger is back"}).status_code == 302
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
