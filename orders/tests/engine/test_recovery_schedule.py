"""The recovery sweep runs as a django-q2 schedule: installed by a migration, once per due time cluster-wide."""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler

from orders.placement import order_place
from payments.models import LedgerEntry
from payments.tests.factories import AccountFactory
from sagas.engine.queue import queued_saga_ids
from sagas.engine.schedules import RECOVERY_SCHEDULE_NAME, install_recovery_schedule
from sagas.models import SagaInstance, SagaStatus
from sagas.tasks import recover_sagas
from sagas.testing.cluster import WorkerCluster, wait_until
from sagas.testing.drain import drain

pytestmark = pytest.mark.django_db(databases="__all__")


def lost_saga():
    """A saga committed but whose queue row was lost in a crash, idle for a while."""
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    OrmQ.objects.all().delete()
    SagaInstance.objects.filter(pk=saga.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    return saga


def test_the_migration_installs_one_recovery_schedule_running_every_minute_for_ever(db):
    [schedule] = Schedule.objects.filter(name=RECOVERY_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats, schedule.cluster) == (
        "sagas.tasks.recover_sagas",
        Schedule.MINUTES,
        1,
        -1,
        None,
    )


def test_installing_again_leaves_exactly_one_correct_schedule(db):
    Schedule.objects.create(name=RECOVERY_SCHEDULE_NAME, func="somewhere.else", schedule_type=Schedule.DAILY)
    Schedule.objects.filter(name=RECOVERY_SCHEDULE_NAME).update(repeats=3)
    install_recovery_schedule()
    install_recovery_schedule()
    [schedule] = Schedule.objects.filter(name=RECOVERY_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "sagas.tasks.recover_sagas",
        Schedule.MINUTES,
        1,
        -1,
    )


def test_the_recovery_task_finds_a_lost_saga_and_the_workers_finish_it(shop):
    saga = lost_saga()
    assert "1 idle (lost enqueue)" in recover_sagas()
    assert queued_saga_ids() == {str(saga.pk)}
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED


def test_the_scheduler_runs_the_sweep_once_per_due_time(shop, monkeypatch):
    # In-process, the task runs inline (sync), so its effect shows at once.
    monkeypatch.setattr(Conf, "SYNC", True)
    Schedule.objects.filter(name=RECOVERY_SCHEDULE_NAME).update(next_run=timezone.now() - timedelta(seconds=1))
    first = lost_saga()
    scheduler(broker=get_broker())
    assert queued_saga_ids() == {str(first.pk)}
    second = lost_saga()
    scheduler(broker=get_broker())
    assert str(second.pk) not in queued_saga_ids()
    next_run = Schedule.objects.get(name=RECOVERY_SCHEDULE_NAME).next_run
    assert timedelta(seconds=50) < next_run - timezone.now() <= timedelta(minutes=1)


@pytest.mark.slow
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_two_clusters_on_one_database_fire_a_due_schedule_once():
    """Both clusters' schedulers pass over the due row; only one enqueues it."""
    probe = f"probe-{uuid.uuid4().hex[:6]}"
    AccountFactory(customer=probe, balance=Decimal("0"))
    Schedule.objects.create(
        name=f"{probe}-schedule",
        func="payments.services.account_deposit",
        args=repr((probe, "1.00")),
        schedule_type=Schedule.MINUTES,
        minutes=10,
        repeats=-1,
        next_run=timezone.now(),
    )

    def runs() -> int:
        return LedgerEntry.objects.using("payments").filter(account__customer=probe).count()

    with WorkerCluster(workers=1), WorkerCluster(workers=1):
        wait_until(lambda: runs() >= 1, timeout=90, what="the schedule to fire")
        time.sleep(35)  # every scheduler passes at least once more (each runs every ~30 s)
        assert runs() == 1
