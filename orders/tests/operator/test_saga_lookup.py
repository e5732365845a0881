"""Finding a saga by the id people see: a saga id or its business key (an order id), whole or its first characters.

The commands (saga_status, retry_saga, compensate_saga, resume_saga) and the admin's saga
search share one resolver; each says which id it matched, and refuses an ambiguous, unknown,
too short or malformed id with a message that says what to type instead.
"""

import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from orders.placement import order_place
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog
from sagas.testing.drain import drain
from sagas.tests.admin_support import saga_row, staff_user
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

LIST_URL = "admin:sagas_sagainstance_changelist"
OPERATOR_COMMANDS = ["retry_saga", "compensate_saga", "resume_saga"]


def run(command, *args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


def audit_rows(saga):
    return list(SagaStepLog.objects.filter(saga=saga, direction=Direction.OPERATOR).values_list("action", flat=True))


def with_id(text: str) -> uuid.UUID:
    return uuid.UUID(text)


@pytest.fixture
def twins(db):
    """Two FAILED sagas whose ids share their first eight characters, and one whose order id does."""
    first = saga_row(id=with_id("abcd1234-0000-4000-8000-000000000001"))
    second = saga_row(id=with_id("abcd1234-0000-4000-8000-000000000002"))
    by_order = saga_row(business_key=with_id("abcd1234-ffff-4000-8000-000000000003"))
    return first, second, by_order


@pytest.fixture
def failed(shop):
    """A saga stopped FAILED after the pivot: commit_stock ran out of its ten attempts."""
    FaultRuleFactory(operation="inventory.reservation_commit", mode="transient", remaining=10)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    drain()
    saga.refresh_from_db()
    assert (saga.status, saga.current_step) == (SagaStatus.FAILED, "commit_stock")
    return saga


@pytest.fixture
def running(shop):
    """A saga waiting to retry its charge after a transient error."""
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=1)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    drain(fast_forward=False)
    saga.refresh_from_db()
    assert (saga.status, saga.current_step) == (SagaStatus.RUNNING, "charge_payment")
    return saga


# --- saga_status ------------------------------------------------------------------------------


def test_saga_status_finds_a_saga_by_the_short_id_the_list_shows(failed):
    short = str(failed.pk)[:8]
    out = run("saga_status", short)
    assert f"Saga {failed.pk} matched by saga id prefix {short}\u2026" in out
    assert f"saga      {failed.pk}" in out


def test_saga_status_finds_a_saga_by_its_whole_order_id(failed):
    out = run("saga_status", str(failed.business_key))
    assert f"Saga {failed.pk} matched by order id {failed.business_key}" in out
    assert f"saga      {failed.pk}" in out


def test_saga_status_finds_a_saga_by_the_short_order_id_a_customer_sees(failed):
    short = str(failed.business_key)[:8].upper()
    out = run("saga_status", short)
    assert f"Saga {failed.pk} matched by order id prefix {short.lower()}\u2026" in out


def test_saga_status_by_the_whole_saga_id_says_nothing_about_matching(failed):
    out = run("saga_status", str(failed.pk))
    assert "matched by" not in out


def test_saga_status_json_stays_one_object_when_a_prefix_matched(failed):
    out, err = io.StringIO(), io.StringIO()
    call_command("saga_status", str(failed.business_key)[:6], "--json", stdout=out, stderr=err)
    assert json.loads(out.getvalue())["id"] == str(failed.pk)
    assert "matched by order id prefix" in err.getvalue()


def test_an_ambiguous_prefix_lists_the_candidates(twins):
    first, _, by_order = twins
    with pytest.raises(CommandError) as raised:
        run("saga_status", "ABCD-1234")
    message = str(raised.value)
    assert message.startswith("abcd1234 matches several sagas; type more characters of the one you mean:")
    for saga in twins:
        assert str(saga.pk) in message
    assert f"order {by_order.business_key}, FAILED, order id matches" in message
    assert f"saga {first.pk} (order {first.business_key}, FAILED, saga id matches)" in message


def test_typing_more_characters_picks_one_saga(twins):
    _, _, by_order = twins
    with pytest.raises(CommandError, match="abcd12340000 matches several sagas"):
        run("saga_status", "abcd1234-0000")
    out = run("saga_status", "abcd1234-f")
    assert f"Saga {by_order.pk} matched by order id prefix abcd1234f\u2026" in out


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("abc", "'abc' is too short to find a saga: type at least 4 characters"),
        ("a-b", "'a-b' is too short to find a saga"),
        ("not-a-uuid", "'not-a-uuid' is not a saga id or a business key: type its first 4 or more characters"),
        ("12345678ü", "is not a saga id or a business key"),
        ("", "'' is not a saga id or a business key"),
        ("0" * 33, "is not a saga id or a business key: it is longer than a UUID"),
        ("9f3e", "No saga id or business key starts with 9f3e."),
    ],
)
def test_saga_status_refuses_an_id_it_cannot_use_with_a_clear_error(twins, typed, error):
    with pytest.raises(CommandError, match=re.escape(error)):
        run("saga_status", typed)


def test_saga_status_of_an_unknown_whole_id_says_no_saga_nor_order_has_it(db):
    missing = uuid.uuid4()
    with pytest.raises(
        CommandError, match=re.escape(f"No saga with id {missing}. No saga has that business key either")
    ):
        run("saga_status", str(missing))


# --- retry_saga, compensate_saga, resume_saga -------------------------------------------------


def test_retry_saga_takes_a_short_order_id_and_says_which_saga_it_matched(failed):
    short = str(failed.business_key)[:8]
    out = run("retry_saga", short, reason="inventory is back", actor="olga")
    assert out.startswith(f"Saga {failed.pk} matched by order id prefix {short}\u2026\n")
    assert f"Saga {failed.pk}: FAILED at commit_stock (forward) -> RUNNING at commit_stock (forward)." in out
    assert audit_rows(failed) == ["retry"]


def test_compensate_saga_takes_a_short_saga_id(running):
    short = str(running.pk)[:8]
    out = run("compensate_saga", short, reason="customer called", yes=True)
    assert f"Saga {running.pk} matched by saga id prefix {short}\u2026" in out
    running.refresh_from_db()
    assert running.status == SagaStatus.COMPENSATING
    assert audit_rows(running) == ["compensate"]


def test_resume_saga_takes_a_whole_order_id(running):
    out = run("resume_saga", str(running.business_key), reason="stuck after the outage")
    assert f"Saga {running.pk} matched by order id {running.business_key}" in out
    assert "Queued for the workers." in out
    assert audit_rows(running) == ["resume"]


@pytest.mark.parametrize("command", OPERATOR_COMMANDS)
def test_an_operator_command_refuses_an_ambiguous_prefix_and_changes_nothing(command, twins):
    with pytest.raises(CommandError, match="abcd1234 matches several sagas"):
        run(command, "abcd1234", reason="which one?", yes=True) if command == "compensate_saga" else run(
            command, "abcd1234", reason="which one?"
        )
    for saga in twins:
        saga.refresh_from_db()
        assert saga.status == SagaStatus.FAILED
        assert audit_rows(saga) == []


@pytest.mark.parametrize("command", OPERATOR_COMMANDS)
@pytest.mark.parametrize(
    ("typed", "error"), [("ab", "too short to find a saga"), ("xyz!", "is not a saga id"), ("ffff0000", "No saga")]
)
def test_an_operator_command_refuses_an_id_it_cannot_use(command, twins, typed, error):
    with pytest.raises(CommandError, match=re.escape(error)):
        run(command, typed, reason="typo")


# --- the step and the deadline in saga_status --------------------------------------------------


def test_saga_status_of_a_finished_saga_shows_its_last_step_and_outcome_not_a_blank(shop):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    drain()
    out = run("saga_status", str(saga.pk))
    step_line = next(line for line in out.splitlines() if line.startswith("step "))
    assert step_line == "step      \u2014 finished; last step commit_stock (forward, attempt 1): SUCCEEDED"


def test_saga_status_of_a_compensated_saga_shows_the_last_compensation(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="refuse")
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    out = run("saga_status", str(saga.pk))
    step_line = next(line for line in out.splitlines() if line.startswith("step "))
    assert step_line == "step      \u2014 finished; last step create_order (compensation, attempt 1): SUCCEEDED"


def test_saga_status_of_a_running_saga_shows_its_step_and_attempt(running):
    out = run("saga_status", str(running.pk))
    assert "step      charge_payment (forward, attempt 1)" in out


def test_saga_status_shows_the_deadline_and_how_long_is_left(running):
    deadline = running.deadline_at
    out = run("saga_status", str(running.pk))
    assert f"deadline  {deadline:%Y-%m-%d %H:%M:%S} UTC  (in " in out
    data = json.loads(run("saga_status", str(running.pk), json=True))
    assert data["deadline_at"] == str(deadline)


def test_saga_status_says_when_the_deadline_has_passed(db):
    saga = saga_row(status=SagaStatus.RUNNING, deadline_at=timezone.now() - timedelta(minutes=7, seconds=5))
    out = run("saga_status", str(saga.pk))
    assert f"deadline  {saga.deadline_at:%Y-%m-%d %H:%M:%S} UTC  (passed 7 minutes ago)" in out


# --- the admin's saga search ------------------------------------------------------------------


@pytest.fixture
def root_client(client):
    client.force_login(staff_user("root", superuser=True))
    return client


def search(client, term):
    response = client.get(reverse(LIST_URL), {"q": term})
    assert response.status_code == 200
    shown = {saga.pk for saga in response.context["cl"].result_list}
    notes = [str(message) for message in get_messages(response.wsgi_request)]
    return shown, notes, response.content.decode()


def test_the_admin_finds_a_saga_by_the_short_id_its_list_shows(root_client, twins):
    other = saga_row()
    shown, notes, _ = search(root_client, str(other.pk)[:8])
    assert shown == {other.pk}
    assert notes == [f"Saga {other.pk} matched by saga id prefix {str(other.pk)[:8]}\u2026"]


def test_the_admin_finds_a_saga_by_a_short_order_id(root_client, twins):
    other = saga_row()
    shown, _, page = search(root_client, str(other.business_key)[:8])
    assert shown == {other.pk}
    assert f"matched by order id prefix {str(other.business_key)[:8]}" in page


def test_an_ambiguous_prefix_in_the_admin_lists_every_candidate(root_client, twins):
    saga_row()  # matches nothing
    shown, notes, _ = search(root_client, "abcd1234")
    assert shown == {saga.pk for saga in twins}
    assert notes == ["Several sagas have a saga id or a business key starting with abcd1234\u2026"]


def test_the_admin_search_by_a_too_short_prefix_says_why_it_found_no_id(root_client, twins):
    shown, notes, _ = search(root_client, "abc")
    assert shown == set()
    assert notes == ["'abc' is too short to find a saga: type at least 4 characters of its saga id or business key."]


def test_the_admin_search_by_text_that_is_no_id_still_finds_a_customer(root_client, twins):
    bob = saga_row(party="bob-the-builder")
    shown, notes, _ = search(root_client, "bob-the-builder")
    assert (shown, notes) == ({bob.pk}, [])
    shown, notes, _ = search(root_client, "zz%';--")
    assert (shown, notes) == (set(), [])


def test_the_admin_search_by_a_hex_looking_customer_finds_the_customer(root_client, twins):
    cafe = saga_row(party="cafe")
    shown, _, _ = search(root_client, "cafe")
    assert shown == {cafe.pk}


def test_the_admin_search_by_a_whole_saga_id_adds_no_note(root_client, twins):
    first = twins[0]
    shown, notes, _ = search(root_client, str(first.pk))
    assert (shown, notes) == ({first.pk}, [])


def test_the_prefix_search_honours_the_list_filters(root_client, twins):
    done = saga_row(status=SagaStatus.COMPLETED, id=with_id("abcd1234-0000-4000-8000-000000000009"))
    response = root_client.get(reverse(LIST_URL), {"q": "abcd1234", "status__exact": "COMPLETED"})
    assert {saga.pk for saga in response.context["cl"].result_list} == {done.pk}
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Saga {done.pk} matched by saga id prefix abcd1234\u2026"
    ]
    assert SagaInstance.objects.filter(pk__in=[s.pk for s in twins], status=SagaStatus.FAILED).count() == 3


def test_a_saga_whose_definition_names_no_business_key_is_matched_by_its_business_key():
    """The word "order id" is the order saga's own; a saga that declares no word gets the generic one."""
    from sagas.testing.toy import TOY_SAGA

    key = with_id("5eed1234-0000-4000-8000-000000000001")
    saga = saga_row(definition_name=TOY_SAGA.name, business_key=key)
    out = run("saga_status", "5eed1234")
    assert f"Saga {saga.pk} matched by business key prefix 5eed1234\u2026" in out
    assert "order id" not in out
