"""The listening broker on PostgreSQL, in this process: what a NOTIFY carries and when it arrives.

Workers started for real (wake latency, lost notifications, a killed listener) are in
test_broker_cluster.py.
"""

import os
from datetime import timedelta

import psycopg
import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler
from django_q.signing import SignedPackage
from django_q.tasks import async_task

from sagas.engine.queue import enqueue_saga, enqueue_task, release_orphaned_claims
from sagas.workers.broker import LISTENER_NAME, QUEUE_CHANNEL, ListenBroker, notifying, queue_key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def listener():
    """A connection of our own LISTENing on the queue's channel, as a worker's pusher does."""
    broker = ListenBroker()
    connection = broker._listening()
    assert connection is not None
    yield connection
    broker._close_listener()


def _connection_params() -> dict:
    params = connections["default"].get_connection_params()
    return {key: value for key, value in params.items() if key not in ("cursor_factory", "context")}


def heard(listener: psycopg.Connection, seconds: float = 1.0) -> list[psycopg.Notify]:
    return list(listener.notifies(timeout=seconds))


def test_on_postgresql_the_configured_broker_is_the_listening_one():
    assert notifying()
    assert isinstance(get_broker(), ListenBroker)


def test_an_enqueue_is_heard_at_its_commit_not_before(listener):
    with transaction.atomic():
        enqueue_task("math.sqrt", (4,), name="probe")
        assert heard(listener, 0.3) == []  # the row is not visible yet: nobody must wake for it
    notes = heard(listener)
    assert [(note.channel, note.payload) for note in notes] == [(QUEUE_CHANNEL, queue_key())]


def test_a_rolled_back_enqueue_is_never_heard(listener):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_saga("00000000-0000-0000-0000-000000000001")
        raise RuntimeError("the checkpoint fails")
    assert heard(listener) == []
    assert not OrmQ.objects.exists()


def test_django_q2s_own_enqueue_is_heard_with_its_row_committed(listener):
    # async_task is django-q2's path for schedules and plain tasks: the broker's enqueue.
    async_task("math.sqrt", 9)
    assert len(heard(listener)) == 1
    assert [SignedPackage.loads(row.payload)["func"] for row in OrmQ.objects.all()] == ["math.sqrt"]


def test_a_schedule_that_fires_is_heard_with_its_row(listener):
    # The sentinel's scheduler enqueues through the broker, in the transaction that moves the schedule on.
    Schedule.objects.create(
        name="probe", func="math.sqrt", args="25", schedule_type=Schedule.MINUTES, minutes=1, next_run=timezone.now()
    )
    scheduler(broker=get_broker())
    assert len(heard(listener)) == 1
    tasks = [SignedPackage.loads(row.payload) for row in OrmQ.objects.all()]
    assert [task["args"] for task in tasks if task["func"] == "math.sqrt"] == [(25,)]


def test_a_claim_takes_each_due_row_once_for_the_lease_and_says_when_the_next_falls_due():
    for n in (1, 2):
        enqueue_task("math.sqrt", (n,), name="due")
    enqueue_task("math.sqrt", (3,), name="later", delay_seconds=30)
    later = OrmQ.objects.get(lock__gt=timezone.now())
    broker = ListenBroker()
    before = timezone.now()
    claims = [broker._claim() for _ in range(3)]
    taken = [row_id for tasks, _ in claims for row_id, _ in tasks]
    assert [len(tasks) for tasks, _ in claims] == [Conf.BULK, Conf.BULK, 0]
    assert sorted(taken) == sorted(OrmQ.objects.exclude(pk=later.pk).values_list("pk", flat=True))
    assert claims[2][1] == later.lock  # nothing due: the wait ends when the delayed row is
    for lock in OrmQ.objects.filter(pk__in=taken).values_list("lock", flat=True):
        assert before + timedelta(seconds=Conf.RETRY) <= lock <= timezone.now() + timedelta(seconds=Conf.RETRY)


def test_a_row_another_cluster_is_claiming_is_skipped_not_waited_for():
    for n in (1, 2):
        enqueue_task("math.sqrt", (n,), name="due")
    first, second = OrmQ.objects.order_by("pk").values_list("pk", flat=True)
    other = psycopg.connect(**_connection_params())
    try:
        other.execute("SELECT id FROM django_q_ormq WHERE id = %s FOR UPDATE", [first])  # mid-claim
        [(taken, _)], _ = ListenBroker()._claim()
    finally:
        other.close()
    assert taken == second


def test_an_acknowledgement_removes_only_its_row_in_one_statement():
    for n in (1, 2):
        enqueue_task("math.sqrt", (n,), name="due")
    broker = ListenBroker()
    [(task_id, _)], _ = broker._claim()
    with CaptureQueriesContext(connections["default"]) as statements:
        broker.acknowledge(task_id)
    assert [query["sql"].split()[0] for query in statements.captured_queries] == ["DELETE"]
    assert not OrmQ.objects.filter(pk=task_id).exists()
    assert OrmQ.objects.count() == 1  # the other task stays queued


def test_a_claim_handed_back_early_is_heard(listener):
    enqueue_task("math.sqrt", (16,), name="probe")
    heard(listener)
    # Claimed by a process that is gone: no cluster runs, so none holds it.
    [(task_id, _)], _ = ListenBroker()._claim()
    assert release_orphaned_claims(grace_seconds=0) == [task_id]
    assert len(heard(listener)) == 1


def test_a_forked_process_listens_on_a_connection_of_its_own_and_leaves_its_parents_alone():
    broker = ListenBroker()
    parents = broker._listening()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child, as django-q2 forks a pusher from the sentinel
        try:
            own = broker._listening()
            os.write(writer, str(own.info.backend_pid if own is not None else 0).encode())
        finally:
            os._exit(0)
    os.close(writer)
    childs_backend = int(os.read(reader, 64) or b"0")
    os.waitpid(child, 0)
    try:
        assert childs_backend not in (0, parents.info.backend_pid)
        # The parent's connection is untouched by the child (nor by its exit) and still listens.
        assert broker._listening() is parents
        assert parents.execute("SELECT 1").fetchone() == (1,)
        with parents.cursor() as cursor:
            cursor.execute("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            assert cursor.fetchone() == (LISTENER_NAME,)
    finally:
        broker._close_listener()
