"""django-q2's ORM broker, woken by PostgreSQL's LISTEN/NOTIFY instead of its poll.

The ORM broker's pusher finds the queue empty, sleeps `poll` seconds and looks again, so on an
idle system a task waits half a poll on average before any worker sees it. Here every enqueue
also sends `pg_notify(QUEUE_CHANNEL, <queue key>)` in its own transaction (PostgreSQL delivers
it at commit, so a worker never wakes for a row it cannot see yet), and the pusher waits on
`LISTEN` for at most the poll interval instead of sleeping:

- the poll stays as the fallback: a notification lost (a connection cut, a row written by hand)
  costs at most one poll, never a task;
- an idle wait also ends when the next queue row falls due (a delayed retry, an expired claim),
  so a long poll does not delay them;
- the LISTEN connection is the pusher's own (a dedicated psycopg connection, opened in the
  process that dequeues, never one inherited across a fork), LISTENing before the queue is
  read, so a commit between the read and the wait is still heard;
- a lost LISTEN connection is logged once per incident, replaced at the next dequeue, and
  meanwhile the pusher polls;
- a claim is one statement (FOR UPDATE SKIP LOCKED) that also says when the next row falls
  due, where django-q2 takes four round trips a task;
- an acknowledgement is one DELETE in autocommit, where django-q2's goes through the ORM's
  collector: BEGIN, DELETE, COMMIT.

`settings.Q_LISTEN` chooses it (on by default on PostgreSQL); see docs/django-q2.md.
"""

import contextlib
import logging
import os
from datetime import datetime, timedelta
from time import sleep
from typing import Any

import psycopg
from django.db import connections, transaction
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ

logger = logging.getLogger("sagas.workers")

# The channel every enqueue notifies and every pusher listens on; the payload is the queue's key.
QUEUE_CHANNEL = "sagas_queue"
# The listening connection's application_name, so pg_stat_activity tells it apart.
LISTENER_NAME = "sagas-queue-listener"
NOTIFY_SQL = "SELECT pg_notify(%s, %s)"
# The claim: due rows taken for `retry` seconds, or, with none, the time the next row falls due.
CLAIM_SQL = """
WITH claimed AS (
    UPDATE {table} SET lock = %(lease)s
    WHERE id IN (
        SELECT id FROM {table} WHERE key = %(key)s AND lock < %(now)s LIMIT %(bulk)s FOR UPDATE SKIP LOCKED
    )
    RETURNING id, payload
)
SELECT id, payload, NULL FROM claimed
UNION ALL
SELECT NULL, NULL, min(lock) FROM {table} WHERE key = %(key)s AND lock >= %(now)s AND NOT EXISTS (SELECT FROM claimed)
"""
# Q_CLUSTER["broker_class"] when settings.Q_LISTEN is on.
LISTEN_BROKER = f"{__name__}.ListenBroker"


def notifying() -> bool:
    """Whether enqueues notify: the configured broker is this one (PostgreSQL only)."""
    return Conf.BROKER_CLASS == LISTEN_BROKER


def queue_key(list_key: str | None = None) -> str:
    """The key of this cluster's queue rows, as django-q2's ORM broker writes it."""
    return list_key or Conf.CLUSTER_NAME


def notify_queue(using: str | None = None, key: str | None = None) -> None:
    """Tell the listening pushers that the queue has a row for them, at the commit of the current transaction.

    Outside a transaction the notification goes at once; PostgreSQL folds identical
    notifications of one transaction into one.
    """
    with connections[using or Conf.ORM].cursor() as cursor:
        cursor.execute(NOTIFY_SQL, [QUEUE_CHANNEL, queue_key(key)])


class ListenBroker(ORM):
    """The ORM broker whose dequeue waits on LISTEN for at most the poll interval."""

    def __init__(self, list_key: str | None = None):
        super().__init__(list_key)
        self._forget_listener()

    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state)
        self._forget_listener()

    def _forget_listener(self) -> None:
        self._listener: psycopg.Connection | None = None
        self._listener_pid = os.getpid()
        self._listen_failing = False

    def enqueue(self, task: str) -> int:
        """django-q2's enqueue (schedules, async_task) with its notification, committed together."""
        with transaction.atomic(using=Conf.ORM):
            row_id = super().enqueue(task)
            notify_queue(Conf.ORM, self.list_key)
        return row_id

    def delete(self, task_id: int) -> None:
        """Remove a queue row (an acknowledgement or a failure): one statement, its own transaction.

        The row has no relations, so the collector django-q2 calls has nothing to find and only
        wraps the DELETE in a transaction; deleting one row by its key is atomic by itself.
        """
        self.get_connection().filter(pk=task_id)._raw_delete(Conf.ORM)

    def dequeue(self) -> list[tuple[int, str]] | None:
        # LISTEN before reading the queue: a row committed after the read is then heard in the wait.
        self._listening()
        tasks, due = self._claim()
        if tasks:
            return tasks
        self._wait(Conf.POLL if due is None else max(0.0, min(Conf.POLL, (due - timezone.now()).total_seconds())))
        return None

    def _claim(self) -> tuple[list[tuple[int, str]], datetime | None]:
        """Up to `bulk` due rows, claimed for `retry` seconds; with none, when the next row falls due.

        django-q2's ORM broker reads the due rows, then claims each with a compare-and-set on
        its lock, each statement after a health check of the connection: four round trips a
        task. This is one statement (and its health check); a row another cluster is claiming
        at that instant is skipped, one it claimed is re-checked and left, as with the
        compare-and-set. The lock is still the claim time plus `retry` (see
        sagas.engine.queue._claimed_at).
        """
        self.get_connection()  # django-q2's care of a long-lived connection: closed if unusable or too old
        now = timezone.now()
        connection = connections[Conf.ORM]
        table = connection.ops.quote_name(OrmQ._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                CLAIM_SQL.format(table=table),
                {"key": self.list_key, "now": now, "lease": now + timedelta(seconds=Conf.RETRY), "bulk": Conf.BULK},
            )
            rows = cursor.fetchall()
        tasks = [(row_id, payload) for row_id, payload, _ in rows if row_id is not None]
        due = next((next_due for row_id, _, next_due in rows if row_id is None), None)
        return tasks, due

    def _wait(self, seconds: float) -> None:
        """Wait until a notification arrives or `seconds` pass; without a listener, sleep."""
        listener = self._listener
        if listener is None:
            sleep(seconds)
            return
        try:
            if list(listener.notifies(timeout=seconds, stop_after=1)):
                # One is enough: the queue is read again. Drain what else came, so it wakes nobody twice.
                list(listener.notifies(timeout=0.0))
        except psycopg.Error as error:
            # The next dequeue reads the queue (nothing missed) and then reconnects.
            self._lost(error)

    def _listening(self) -> psycopg.Connection | None:
        """This process's LISTEN connection, opened (again) when needed; None while it cannot be."""
        if self._listener_pid != os.getpid():
            # Forked with the parent's connection: its socket is the parent's, never to be used or closed here.
            self._forget_listener()
        if self._listener is not None and not self._listener.closed and not self._listener.broken:
            return self._listener
        self._close_listener()
        try:
            self._listener = _connect_listener()
        except psycopg.Error as error:
            self._lost(error)
            return None
        if self._listen_failing:
            logger.warning("queue listener (pid %s): listening again on %s", os.getpid(), QUEUE_CHANNEL)
        self._listen_failing = False
        return self._listener

    def _lost(self, error: Exception) -> None:
        if not self._listen_failing:
            logger.error(
                "queue listener (pid %s): lost its LISTEN connection (%s); polling every %gs until it reconnects",
                os.getpid(),
                str(error).strip() or type(error).__name__,
                Conf.POLL,
            )
        self._listen_failing = True
        self._close_listener()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(psycopg.Error):  # already broken: nothing left to close cleanly
                listener.close()


def _connect_listener() -> psycopg.Connection:
    """A new autocommit connection to the queue's database, listening on QUEUE_CHANNEL."""
    params = connections[Conf.ORM].get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    params["application_name"] = LISTENER_NAME
    params.setdefault("connect_timeout", 5)
    # It only ever reads: keepalives notice a peer gone silent (a firewall's dropped session) in minutes.
    params.setdefault("keepalives_idle", 60)
    listener = psycopg.connect(**params, autocommit=True)
    try:
        listener.execute(f"LISTEN {QUEUE_CHANNEL}")
    except psycopg.Error:
        listener.close()
        raise
    return listener
