"""retry_saga, compensate_saga and resume_saga: allowed, refused, audited, and dry runs that change nothing."""

import io
import re
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from orders.models import Order
from orders.placement import order_place
from orders.tests.support.helpers import order_of
from sagas.engine.queue import queued_saga_ids
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def run(command, *args, **options):
    out = io.StringIO()
    call_command(command, *args, stdout=out, **options)
    return out.getvalue()


def audit_rows(saga):
    return list(
        SagaStepLog.objects.filter(saga=saga, direction=Direction.OPERATOR).values_list("action", "actor", "reason")
    )


def snapshot(saga):
    """Everything an operator command could change."""
    saga.refresh_from_db()
    return (saga.status, saga.version, saga.direction, saga.step_index, len(audit_rows(saga)), queued_saga_ids())


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


@pytest.fixture
def completed(shop):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    return saga


# --- retry_saga -------------------------------------------------------------------------------


def test_retry_saga_runs_the_failed_step_again_and_the_saga_completes(failed):
    out = run("retry_saga", str(failed.pk), reason="inventory is back", actor="olga")
    assert f"Saga {failed.pk}: FAILED at commit_stock (forward) -> RUNNING at commit_stock (forward)." in out
    drain()
    failed.refresh_from_db()
    assert failed.status == SagaStatus.COMPLETED
    assert audit_rows(failed) == [("retry", "olga", "inventory is back")]


def test_retry_saga_refuses_a_saga_that_has_not_failed(completed):
    with pytest.raises(CommandError, match=re.escape("Only a FAILED saga can be retried; this one is COMPLETED.")):
        run("retry_saga", str(completed.pk), reason="just because")
    assert audit_rows(completed) == []


def test_retry_saga_dry_run_says_what_would_happen_and_changes_nothing(failed):
    before = snapshot(failed)
    out = run("retry_saga", str(failed.pk), reason="check first", dry_run=True)
    assert "Dry run: would retry saga" in out
    assert "-> RUNNING at commit_stock" in out
    assert snapshot(failed) == before


def test_the_actor_defaults_to_the_os_user(failed, monkeypatch):
    monkeypatch.setenv("LOGNAME", "oncall-person")
    run("retry_saga", str(failed.pk), reason="inventory is back")
    assert audit_rows(failed) == [("retry", "oncall-person", "inventory is back")]


# --- compensate_saga --------------------------------------------------------------------------


def test_compensate_saga_lists_the_compensations_in_order_before_asking(running):
    out = run("compensate_saga", str(running.pk), reason="customer called", stdin=io.StringIO("n\n"))
    listing = out[out.index("These compensations will run") :]
    assert listing.index("refund_payment (undoes charge_payment)") < listing.index(
        "release_stock (undoes reserve_stock)"
    )
    assert listing.index("release_stock (undoes reserve_stock)") < listing.index("cancel_order (undoes create_order)")
    assert f"Compensate saga {running.pk}? [y/N]" in out


def test_compensate_saga_answered_no_changes_nothing(running):
    before = snapshot(running)
    out = run("compensate_saga", str(running.pk), reason="customer called", stdin=io.StringIO("\n"))
    assert "Not compensated; nothing was changed." in out
    assert snapshot(running) == before


def test_compensate_saga_answered_yes_compensates_and_audits(running):
    out = run("compensate_saga", str(running.pk), reason="customer called", actor="olga", stdin=io.StringIO("y\n"))
    assert "-> COMPENSATING at charge_payment (compensation)." in out
    drain()
    running.refresh_from_db()
    assert running.status == SagaStatus.COMPENSATED
    assert order_of(running).status == Order.Status.CANCELLED
    assert audit_rows(running) == [("compensate", "olga", "customer called")]


def test_compensate_saga_with_yes_does_not_ask(running):
    out = run("compensate_saga", str(running.pk), reason="customer called", yes=True, stdin=io.StringIO(""))
    assert "[y/N]" not in out
    running.refresh_from_db()
    assert running.status == SagaStatus.COMPENSATING


def test_compensate_saga_refuses_a_saga_past_its_pivot_before_asking(failed):
    with pytest.raises(CommandError, match="past its pivot step \\(approve_order\\)"):
        run("compensate_saga", str(failed.pk), reason="undo it", stdin=io.StringIO("y\n"))
    assert audit_rows(failed) == []


def test_compensate_saga_refuses_a_saga_stopped_at_a_pivot_that_may_have_happened(shop):
    FaultRuleFactory(operation="orders.order_approve", mode="transient", phase="after", remaining=100)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    drain()
    saga.refresh_from_db()
    assert (saga.status, saga.current_step) == (SagaStatus.FAILED, "approve_order")
    with pytest.raises(CommandError, match="approve_order\\) was tried and may have taken effect"):
        run("compensate_saga", str(saga.pk), reason="undo it", yes=True)
    assert audit_rows(saga) == []
    assert order_of(saga).status == Order.Status.APPROVED


def test_compensate_saga_dry_run_lists_the_plan_and_changes_nothing(running):
    before = snapshot(running)
    out = run("compensate_saga", str(running.pk), reason="what if", dry_run=True)
    assert "1. refund_payment (undoes charge_payment)" in out
    assert "Dry run: would compensate saga" in out
    assert snapshot(running) == before


# --- resume_saga ------------------------------------------------------------------------------


def test_resume_saga_queues_a_stuck_saga_and_audits(running):
    SagaInstance.objects.filter(pk=running.pk).update(next_run_at=timezone.now() + timedelta(hours=1))
    out = run("resume_saga", str(running.pk), reason="stuck after the outage", actor="olga")
    assert "Queued for the workers." in out
    running.refresh_from_db()
    assert running.next_run_at is None
    assert audit_rows(running) == [("resume", "olga", "stuck after the outage")]
    drain()
    running.refresh_from_db()
    assert running.status == SagaStatus.COMPLETED


def test_resume_saga_refuses_a_saga_held_by_a_live_lease_unless_forced(running):
    SagaInstance.objects.filter(pk=running.pk).update(
        lease_owner="host:1:abc", lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    with pytest.raises(CommandError, match=r"A worker \(host:1:abc\) holds the saga until .* Use force"):
        run("resume_saga", str(running.pk), reason="looks stuck")
    run("resume_saga", str(running.pk), reason="the worker host is gone", force=True)
    running.refresh_from_db()
    assert running.lease_owner == ""


def test_resume_saga_refuses_a_finished_saga(completed):
    with pytest.raises(
        CommandError, match=re.escape("Only a saga still in progress can be resumed; this one is COMPLETED.")
    ):
        run("resume_saga", str(completed.pk), reason="why not")


def test_resume_saga_dry_run_changes_nothing(running):
    before = snapshot(running)
    out = run("resume_saga", str(running.pk), reason="just looking", dry_run=True)
    assert "Dry run: would resume saga" in out
    assert snapshot(running) == before


# --- what all three share ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["retry_saga", "compensate_saga", "resume_saga"])
def test_an_unknown_saga_id_is_a_clear_error(command, db):
    missing = uuid.uuid4()
    with pytest.raises(CommandError, match=re.escape(f"No saga with id {missing}.")):
        run(command, str(missing), reason="typo")


@pytest.mark.parametrize("command", ["retry_saga", "compensate_saga", "resume_saga"])
def test_a_malformed_saga_id_is_a_clear_error(command, db):
    with pytest.raises(CommandError, match="'not-a-uuid' is not a saga id"):
        run(command, "not-a-uuid", reason="typo")


@pytest.mark.parametrize("command", ["retry_saga", "compensate_saga", "resume_saga"])
def test_a_missing_reason_is_refused_before_anything_happens(command, failed):
    before = snapshot(failed)
    with pytest.raises(CommandError, match="--reason is required"):
        run(command, str(failed.pk))
    with pytest.raises(CommandError, match="--reason is required"):
        run(command, str(failed.pk), reason="   ")
    assert snapshot(failed) == before


def test_compensate_saga_lists_what_a_choreographed_saga_will_undo(shop):
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    out = run("compensate_saga", str(saga.pk), reason="customer called", stdin=io.StringIO("n\n"))
    assert "each service undoes its own part" in out
    assert "refund_payment (undoes charge_payment)" in out
    assert "Not compensated; nothing was changed." in out


def test_a_saga_that_completes_after_a_retry_shows_no_error(failed):
    assert failed.last_error
    run("retry_saga", str(failed.pk), reason="inventory is back", actor="olga")
    drain()
    failed.refresh_from_db()
    assert (failed.status, failed.last_error) == (SagaStatus.COMPLETED, "")
    assert failed.steps.filter(status="FAILED").exists()
