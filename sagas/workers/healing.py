"""django-q2's sentinel, repaired against killed processes (see sagas.workers.cluster).

Imported only in a cluster process, after Django is set up (django_q.cluster needs the apps).
"""

import logging
import os
import signal
import socket
import time
from collections import deque
from multiprocessing import Array, Value
from multiprocessing.reduction import ForkingPickler
from typing import Any

from django import db
from django.conf import settings
from django_q.cluster import Sentinel, get_mp_context, scheduler, worker
from django_q.conf import Conf
from django_q.queues import Queue
from django_q.signals import post_execute_in_worker, pre_execute
from django_q.signing import SignedPackage
from django_q.status import Stat

from sagas.workers import heartbeat as cluster_state
from sagas.workers.cluster import die_with_parent

logger = logging.getLogger("sagas.workers")

IN_QUEUE = -1  # holder of a slot whose task waits in the in-memory queue


class TrackedQueue(Queue):
    """django-q2's queue, recording which process waits holding its read lock.

    Only the blocking `get()` without a timeout (the one workers and the monitor use) is
    tracked; it is CPython's own code with the holder written down inside the lock.
    """

    def __init__(self, *args: Any, slots: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reader = Value("i", 0, lock=False)
        self.slots = slots

    def __getstate__(self) -> Any:
        return (*super().__getstate__(), self.reader, self.slots)

    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state[:-2])
        self.reader, self.slots = state[-2], state[-1]

    def put(self, obj: Any, *args: Any, **kwargs: Any) -> None:
        if self.slots is not None and isinstance(obj, dict) and isinstance(obj.get("ack_id"), int):
            _slot_take(self.slots, obj["ack_id"])
        super().put(obj, *args, **kwargs)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not block or timeout is not None:
            return super().get(block, timeout)
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        with self._rlock:
            self.reader.value = os.getpid()
            try:
                obj = ForkingPickler.loads(self._recv_bytes())
                # The task is this process's from the moment it leaves the queue, not only once it
                # starts: killed before it starts (a worker logs, sets its title, checks its
                # connections first, long on a busy host), its death must hand the row back.
                self.mark_taken(obj)
            finally:
                self.reader.value = 0
        self._sem.release()
        self.size.increment(-1)
        return obj

    def mark_taken(self, obj: Any) -> None:
        if self.slots is None or not isinstance(obj, dict) or not isinstance(obj.get("ack_id"), int):
            return
        slots, ack_id = self.slots, obj["ack_id"]
        for index in range(0, len(slots), 2):
            if slots[index] == ack_id and slots[index + 1] == IN_QUEUE:
                slots[index + 1] = os.getpid()
                return

    def release_reader(self, pid: int) -> bool:
        """Release the read lock if the dead process `pid` took it with it; True if it did."""
        if not pid or self.reader.value != pid:
            return False
        self.reader.value = 0
        self._rlock.release()
        return True


# --- which queue rows this cluster holds: slots of (row id, holder pid), shared without a lock ---
# Only the pusher fills a free slot, only the worker that runs a task moves or clears its slot,
# and only the sentinel clears the slots of a dead worker, so no two processes write one slot.
_SLOTS: Any = None
_FINISHED: Any = None
_LAST_FINISH: Any = None


def _slot_take(slots: Any, ack_id: int) -> None:
    for index in range(0, len(slots), 2):
        if slots[index] == 0:
            slots[index + 1] = IN_QUEUE
            slots[index] = ack_id
            return
    # Full: the row goes untracked, and a sweep may hand it out again early (a harmless repeat).


def _slot_set(ack_id: int, holder: int) -> None:
    slots = _SLOTS
    if slots is None:
        return
    for index in range(0, len(slots), 2):
        if slots[index] == ack_id:
            if holder:
                slots[index + 1] = holder
            else:
                slots[index] = 0
                slots[index + 1] = 0
            return


def held_rows(slots: Any) -> list[int]:
    return [slots[index] for index in range(0, len(slots), 2) if slots[index]]


def clear_slots_of(slots: Any, pid: int) -> None:
    for index in range(0, len(slots), 2):
        if slots[index + 1] == pid:
            slots[index] = 0
            slots[index + 1] = 0


def _on_task_start(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    if isinstance(task.get("ack_id"), int):
        _slot_set(task["ack_id"], os.getpid())


def _on_task_end(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    if isinstance(task.get("ack_id"), int):
        _slot_set(task["ack_id"], 0)
    if _FINISHED is not None:
        # Two workers may add at once and one count be lost: the figure is a rate, not a ledger.
        _FINISHED.value += 1
        _LAST_FINISH.value = time.time()


pre_execute.connect(_on_task_start, dispatch_uid="sagas.workers.healing.task_start")
post_execute_in_worker.connect(_on_task_end, dispatch_uid="sagas.workers.healing.task_end")


class HealingSentinel(Sentinel):
    """django-q2's sentinel that undoes what a killed process leaves locked, and publishes a heartbeat."""

    def __init__(self, stop_event: Any, start_event: Any, cluster_id: Any, broker: Any = None, timeout: Any = None):
        global _SLOTS, _FINISHED, _LAST_FINISH
        die_with_parent(signal.SIGKILL, expected_parent=os.getppid())
        super().__init__(stop_event, start_event, cluster_id, broker, timeout, start=False)
        size = (Conf.QUEUE_LIMIT or 50) + Conf.WORKERS + (Conf.BULK or 1) + 8
        _SLOTS = Array("q", 2 * size, lock=False)
        _FINISHED = Value("q", 0, lock=False)
        _LAST_FINISH = Value("d", 0.0, lock=False)
        self.slots = _SLOTS
        self.task_queue = TrackedQueue(maxsize=Conf.QUEUE_LIMIT or 0, slots=_SLOTS)
        self.result_queue = TrackedQueue()
        self.started_at = time.time()
        self.samples: deque[tuple[float, int]] = deque([(self.started_at, 0)])
        self.publish_failing = False
        self.last_publish = 0.0
        self.start()

    def spawn_process(self, target: Any, *args: Any) -> Any:
        """django-q2's spawn, with each child set to die with the sentinel."""
        sentinel = os.getpid()

        def run(*child_args: Any) -> None:
            die_with_parent(signal.SIGKILL, expected_parent=sentinel)
            target(*child_args)

        process = get_mp_context().Process(target=run, args=args, name=f"Process-{os.urandom(16).hex()}")
        process.daemon = True
        if target == worker:
            process.daemon = Conf.DAEMONIZE_WORKERS
            process.timer = args[2]
            self.pool.append(process)
        process.start()
        return process

    def reincarnate(self, process: Any) -> None:
        """Release what a dead process held, say so once, then let django-q2 replace it."""
        if not process.is_alive():
            released = []
            if self.task_queue.release_reader(process.pid):
                released.append("the task queue's read lock")
            if self.result_queue.release_reader(process.pid):
                released.append("the result queue's read lock")
            clear_slots_of(self.slots, process.pid)
            role = "monitor" if process == self.monitor else "pusher" if process == self.pusher else "worker"
            logger.error(
                "worker cluster (pid %s): %s %s died (exit %s)%s; replacing it",
                self.parent_pid,
                role,
                process.pid,
                process.exitcode,
                f", released {' and '.join(released)}" if released else "",
            )
        super().reincarnate(process)

    def guard(self) -> None:
        """django-q2's guard loop, safe against a worker killed holding its timer lock."""
        self.start_event.set()
        self.publish(force=True)
        logger.info("worker cluster (pid %s): running with %s workers", self.parent_pid, self.pool_size)
        counter = 0.0
        cycle = Conf.GUARD_CYCLE
        while True:
            for process in list(self.pool):
                if not process.is_alive():
                    self.reincarnate(process)
                    continue
                lock = process.timer.get_lock()
                if not lock.acquire(timeout=cycle):
                    continue  # handing in a result; look again next cycle
                try:
                    expired = process.timer.value == 0
                    if not expired and process.timer.value > 0:
                        process.timer.value -= cycle
                finally:
                    lock.release()
                if expired:
                    self.reincarnate(process)
            if not self.monitor.is_alive():
                self.reincarnate(self.monitor)
            if not self.pusher.is_alive():
                self.reincarnate(self.pusher)
            counter += cycle
            if counter >= 30 and Conf.SCHEDULER:
                counter = 0
                scheduler(broker=self.broker)
            self.publish()
            if self.stop_event.wait(cycle):
                break
        self.stop()

    def publish(self, force: bool = False) -> None:
        """Publish django-q2's status and this cluster's heartbeat; log a failure once per incident."""
        try:
            stat = Stat(self)
            self.broker.set_stat(stat.key, SignedPackage.dumps(stat, True), 3)
            now = time.time()
            if force or now - self.last_publish >= cluster_state.HEARTBEAT_SECONDS:
                cluster_state.publish(self.heartbeat(now))
                self.last_publish = now
        except Exception as error:  # the cluster must keep guarding whatever the cache does
            if not self.publish_failing:
                logger.error(
                    "worker cluster (pid %s), sentinel %s: cannot publish its status (%s); retrying each cycle",
                    self.parent_pid,
                    self.pid,
                    error,
                )
            self.publish_failing = True
            # A connection the server dropped stays unusable until closed: the next cycle reconnects.
            db.connections.close_all()
            return
        if self.publish_failing:
            logger.warning(
                "worker cluster (pid %s), sentinel %s: publishing its status again", self.parent_pid, self.pid
            )
        self.publish_failing = False

    def heartbeat(self, now: float) -> cluster_state.ClusterHeartbeat:
        window = settings.HEALTH_QUEUE_STALL_SECONDS
        finished = _FINISHED.value
        self.samples.append((now, finished))
        while len(self.samples) > 1 and self.samples[1][0] <= now - window:
            self.samples.popleft()
        return cluster_state.ClusterHeartbeat(
            host=socket.gethostname(),
            pid=self.parent_pid,
            sentinel=self.pid,
            started_at=self.started_at,
            at=now,
            window_seconds=window,
            workers=[process.pid for process in self.pool],
            finished=finished,
            finished_in_window=finished - self.samples[0][1],
            last_finish_at=_LAST_FINISH.value or None,
            in_hand=held_rows(self.slots),
            supervisor=os.environ.get("SAGA_SUPERVISOR", ""),
            restarts=int(os.environ.get("SAGA_SUPERVISOR_RESTARTS", "0")),
            last_restart=os.environ.get("SAGA_SUPERVISOR_LAST_RESTART", ""),
        )
