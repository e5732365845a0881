"""Delivered events go after the retention, except those a saga still needs; resume never comes up empty."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import InboxEvent as InventoryInbox
from inventory.models import OutboxEvent as InventoryOutbox
from orders.models import InboxEvent as OrderInbox
from orders.models import OutboxEvent as OrderOutbox
from orders.placement import order_place
from orders.tests.support.helpers import balance
from payments.models import InboxEvent as PaymentInbox
from payments.models import OutboxEvent as PaymentOutbox
from sagas.choreography import sweep as choreography_sweep
from sagas.choreography.sweep import sweep
from sagas.errors import ActionNotAllowed
from sagas.models import Direction, SagaInstance, SagaStatus
from sagas.participant import faults
from sagas.selectors import needs_attention_condition
from sagas.services import saga_resolve, saga_resume
from sagas.testing.choreography import drain_events
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

EVENT_TABLES = (
    ("orders", OrderOutbox, OrderInbox),
    ("inventory", InventoryOutbox, InventoryInbox),
    ("payments", PaymentOutbox, PaymentInbox),
)


def start():
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2, style="choreography")
    return saga


def fresh(saga):
    saga.refresh_from_db()
    return saga


def failed_refund():
    """A saga whose approval is refused and whose refund then fails for good: FAILED, the money still taken."""
    FaultRuleFactory(operation="orders.order_approve", mode="refuse")
    refund_fault = FaultRuleFactory(operation="payments.payment_refund", mode="transient")
    faults.clear_cache()
    saga = start()
    drain_events()
    assert fresh(saga).status == SagaStatus.FAILED
    assert [letter["event"]["type"] for letter in saga.context["dead_letters"]] == ["order-cancelled"]
    return saga, refund_fault


def refunds_work_again(refund_fault):
    refund_fault.delete()
    faults.clear_cache()


def in_progress():
    """A saga with its stock reserved and its charge not yet delivered."""
    saga = start()
    while "stock-reserved" not in fresh(saga).context["events"]:
        drain_events(limit=1)
    return saga


def age(saga, hours):
    """Move the saga's start and every event row of it `hours` into the past."""
    past = timezone.now() - timedelta(hours=hours)
    SagaInstance.objects.filter(pk=saga.pk).update(created_at=past)
    for alias, outbox, inbox in EVENT_TABLES:
        outbox.objects.using(alias).filter(saga_id=saga.pk, delivered_at__isnull=False).update(
            created_at=past, delivered_at=past
        )
        inbox.objects.using(alias).filter(saga_id=saga.pk).update(handled_at=past)


def event_rows(saga):
    """(outbox rows, inbox rows) of the saga in each service's database."""
    return {
        alias: (
            outbox.objects.using(alias).filter(saga_id=saga.pk).count(),
            inbox.objects.using(alias).filter(saga_id=saga.pk).count(),
        )
        for alias, outbox, inbox in EVENT_TABLES
    }


def purge_by_hand(saga):
    """Every event row of the saga gone, as the purge left a FAILED saga before it kept them."""
    for alias, outbox, inbox in EVENT_TABLES:
        outbox.objects.using(alias).filter(saga_id=saga.pk).delete()
        inbox.objects.using(alias).filter(saga_id=saga.pk).delete()


@pytest.mark.parametrize("unfinished", [failed_refund, in_progress], ids=["failed", "in-progress"])
def test_the_purge_keeps_every_event_of_a_saga_not_finished_and_purges_a_finished_one(shop, unfinished):
    done = start()
    drain_events()
    assert fresh(done).status == SagaStatus.COMPLETED
    made = unfinished()
    saga = made[0] if isinstance(made, tuple) else made
    age(done, hours=3)
    age(saga, hours=3)
    kept, finished = event_rows(saga), event_rows(done)
    assert sum(outbox for outbox, _ in kept.values()) >= 2

    report = sweep(retention_hours=1, idle_seconds=3600)

    assert event_rows(saga) == kept
    assert event_rows(done) == {alias: (0, 0) for alias, _, _ in EVENT_TABLES}
    assert report.purged == finished


def test_a_failed_saga_marked_resolved_is_finished_and_its_events_are_purged(shop):
    saga, _ = failed_refund()
    age(saga, hours=3)
    sweep(retention_hours=1, idle_seconds=3600)
    assert event_rows(saga)["orders"][0] >= 1
    saga_resolve(saga.pk, actor="ops", reason="refunded by hand")
    sweep(retention_hours=1, idle_seconds=3600)
    assert event_rows(saga) == {alias: (0, 0) for alias, _, _ in EVENT_TABLES}


def test_more_unfinished_sagas_than_the_limit_move_the_purge_cutoff_back_instead_of_losing_events(shop):
    older, newer = in_progress(), in_progress()
    age(older, hours=5)
    age(newer, hours=3)
    cutoff = timezone.now() - timedelta(hours=1)
    keep, before = choreography_sweep.sagas_needing_their_events(cutoff, limit=1)
    assert keep == [older.pk]  # the newer saga is not listed, so nothing as old as it may go
    assert before == fresh(older).created_at - choreography_sweep.CLOCK_MARGIN < fresh(newer).created_at
    assert choreography_sweep.sagas_needing_their_events(cutoff, limit=5) == ([older.pk, newer.pk], cutoff)


def test_resume_delivers_the_event_a_service_gave_up_on_from_the_saga_when_its_outbox_row_is_gone(shop):
    saga, refund_fault = failed_refund()
    assert balance("alice") == Decimal("950.00")
    purge_by_hand(saga)
    refunds_work_again(refund_fault)

    saga_resume(saga.pk, actor="ops", reason="refunds work again")
    drain_events()

    saga = fresh(saga)
    assert saga.status == SagaStatus.COMPENSATED
    assert balance("alice") == Decimal("1000.00")
    audit = saga.steps.get(direction=Direction.OPERATOR, action="resume")
    assert audit.result["redelivered"] >= 2  # the order request and the order-cancelled kept with the saga


def test_resume_refuses_a_failed_saga_when_the_event_that_failed_is_kept_nowhere(shop):
    saga, refund_fault = failed_refund()
    purge_by_hand(saga)
    context = {key: value for key, value in saga.context.items() if key != "dead_letters"}
    SagaInstance.objects.filter(pk=saga.pk).update(context=context)
    refunds_work_again(refund_fault)

    with pytest.raises(ActionNotAllowed, match=r"order-cancelled.*payments\.refund_payment.*by hand"):
        saga_resume(saga.pk, actor="ops", reason="refunds work again")

    saga = fresh(saga)
    assert saga.status == SagaStatus.FAILED and saga.context.get("failure")
    assert SagaInstance.objects.filter(needs_attention_condition(), pk=saga.pk).exists()
    assert not saga.steps.filter(direction=Direction.OPERATOR).exists()
    assert sweep(retention_hours=1, idle_seconds=0).redelivered == []
    assert balance("alice") == Decimal("950.00")
