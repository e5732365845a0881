"""Which queue rows a cluster says it holds, when a worker dies with a task it has not started.

A worker takes a task from the in-memory queue, then logs it, sets its process title and
checks its database connections before django-q2 signals the start: on a busy host that
takes long enough for a SIGKILL to land there. The row must not stay "in hand" of the live
cluster then (the sweep leaves such a row alone, and it would wait for Q_RETRY, 300 s).
Real processes, real signals; no database.
"""

import os
import signal
import time
from multiprocessing import Array

from django_q.cluster import get_mp_context

from sagas.workers.healing import IN_QUEUE, TrackedQueue, clear_slots_of, held_rows


def take_then_hang(queue: TrackedQueue, taken) -> None:
    """A worker that took a task and has not started it yet."""
    queue.get()
    taken.set()
    time.sleep(60)


def test_a_worker_killed_after_taking_a_task_and_before_starting_it_holds_the_row_no_more():
    slots = Array("q", 16, lock=False)
    queue = TrackedQueue(slots=slots)
    queue.put({"ack_id": 41, "func": "sagas.engine.tasks.run_saga"})
    queue.put({"ack_id": 42, "func": "sagas.engine.tasks.run_saga"})
    context = get_mp_context()
    taken = context.Event()
    process = context.Process(target=take_then_hang, args=(queue, taken), daemon=True)
    process.start()
    assert taken.wait(20), "the worker took its task"
    assert sorted(held_rows(slots)) == [41, 42]
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)

    # What the sentinel does for a dead worker: release what it held.
    assert not queue.release_reader(process.pid)
    clear_slots_of(slots, process.pid)

    assert held_rows(slots) == [42], "the taken row is handed back; the one still queued stays held"
    assert [slots[index + 1] for index in range(0, len(slots), 2) if slots[index] == 42] == [IN_QUEUE]
    assert queue.get(timeout=5)["ack_id"] == 42
