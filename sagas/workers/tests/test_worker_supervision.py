"""run_workers keeps its cluster working: real clusters, real signals, on PostgreSQL.

Killed idle workers, a frozen cluster, a worker killed holding a task, and run_workers itself
killed with SIGKILL. The tasks are plain django-q2 tasks, so what is measured is the cluster:
a task is done when its queue row is gone (acknowledged).
"""

import os
import random
import signal
import time

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.tasks import async_task

from sagas.testing.cluster import SupervisedWorkers, WorkerCluster, descendant_pids, wait_until
from sagas.workers.supervisor import process_alive

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.chaos,
    pytest.mark.django_db(databases="__all__", transaction=True),
]

FAST = {
    "HEALTH_QUEUE_STALL_SECONDS": "10",
    "WORKER_MISSING_SECONDS": "3",
    "WORKER_SWEEP_SECONDS": "2",
    "WORKER_RESTART_GRACE_SECONDS": "2",
}


def queue_empty() -> bool:
    return not OrmQ.objects.exists()


def started(run: SupervisedWorkers, workers: int = 2) -> None:
    wait_until(lambda: len(run.worker_pids()) == workers, timeout=60, what="the cluster's first heartbeat")


def kill_idle_workers(pids: list[int]) -> None:
    """SIGKILL each worker, one after the other, giving the sentinel time to replace it."""
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
        time.sleep(1.5)


def test_run_workers_killed_with_sigkill_leaves_no_process_of_its_cluster():
    with SupervisedWorkers(workers=2, env=FAST) as run:
        started(run)
        main = run.cluster_pid()
        cluster = [main, *descendant_pids(main)]
        assert len(cluster) == 6  # main, sentinel, two workers, pusher, monitor
        os.kill(run.pid, signal.SIGKILL)
        wait_until(
            lambda: not [pid for pid in cluster if process_alive(pid)],
            timeout=30,
            what="every process of the cluster to end with run_workers",
        )


def test_a_plain_qcluster_stops_taking_work_when_its_idle_workers_are_killed():
    """django-q2's own stall, for contrast: a killed idle worker keeps the task queue's read lock."""
    with WorkerCluster(workers=2) as cluster:
        wait_until(lambda: len(cluster.processes()) == 5, timeout=60, what="the plain cluster to start")
        time.sleep(2)
        sentinel = descendant_pids(cluster.pid)[0]
        workers = sorted(descendant_pids(sentinel))[:2]  # spawned first: the workers
        kill_idle_workers(workers)
        for n in range(5):
            async_task("math.sqrt", n)
        time.sleep(15)
        assert OrmQ.objects.count() > 0, "the plain cluster kept working: the stall this test shows is gone"


def test_idle_workers_killed_again_and_again_leave_the_cluster_taking_work_without_a_restart():
    rng = random.Random(11)
    with SupervisedWorkers(workers=2, env=FAST) as run:
        started(run)
        for _ in range(3):
            kill_idle_workers(run.worker_pids())
            wait_until(lambda: len([p for p in run.worker_pids() if process_alive(p)]) == 2, 20, what="new workers")
        for _ in range(30):
            async_task("math.sqrt", rng.randint(1, 100))
        wait_until(queue_empty, timeout=30, what="the cluster to run every task")
        assert run.heartbeat().restarts == 0
        assert "released the task queue's read lock" in run.log()


def test_a_frozen_cluster_is_restarted_and_the_restart_counted():
    with SupervisedWorkers(workers=2, env=FAST) as run:
        started(run)
        frozen = run.worker_pids()
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        for n in range(10):
            async_task("math.sqrt", n)
        wait_until(queue_empty, timeout=60, what="a restarted cluster to run every task")
        wait_until(lambda: run.heartbeat() is not None, timeout=30, what="the new cluster's heartbeat")
        assert run.heartbeat().restarts == 1
        log = run.log()
        assert "restarting the worker cluster" in log
        assert "ready for more than 10s and this cluster finished 0 in that window" in log
        assert not [pid for pid in frozen if process_alive(pid)], "a frozen worker outlived the restart"


def test_a_task_held_by_a_killed_worker_runs_again_well_before_the_brokers_retry_lease():
    with SupervisedWorkers(workers=2, env=FAST) as run:
        started(run)
        async_task("time.sleep", 6)
        wait_until(lambda: OrmQ.objects.filter(lock__gt=timezone.now()).exists(), 20, what="a worker to take the task")
        time.sleep(1)
        kill_idle_workers(run.worker_pids())  # the one in the task among them
        killed = time.monotonic()
        wait_until(queue_empty, timeout=60, what="the task to run again and finish")
        waited = time.monotonic() - killed
        print(f"the task finished {waited:.1f}s after its worker was killed (Q_RETRY is 300s)")
        assert waited < 30
        assert "dead worker" in run.log()
