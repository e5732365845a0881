"""The whole run: 300 orders of both styles through `run_workers` alone, while its workers are
SIGKILLed at random (in a step, idle, between steps), frozen past their lease and resumed, and
every database connection of the cluster is terminated, five times. Prints its figures.
"""

import contextlib
import os
import random
import signal
import time

from orders.tests.workers.test_self_healing_sagas import (
    RUN_WORKERS_ENV,
    assert_every_saga_finished_once,
    assert_kills_landed_where_claimed,
    place,
    pytestmark,  # noqa: F401 (postgres, slow, chaos, transactional database)
    run_until_terminal,
    shop,
    statuses,
    terminate_cluster_connections,
)
from sagas.models import SagaStepLog, StepStatus
from sagas.testing.cluster import Kill, SupervisedWorkers, WorkerState, lease_holders, wait_until
from sagas.workers.supervisor import process_alive

FREEZE_SECONDS = 14  # past the lease: the step's timeout (10 s) plus one second


def test_three_hundred_orders_through_kills_freezes_and_terminated_connections():
    rng = random.Random(300)
    sagas = shop(rng, 150)
    customers = list({saga.context["input"]["customer"] for saga in sagas})
    skus = list({saga.context["input"]["sku"] for saga in sagas})
    kinds = [WorkerState.IN_STEP, WorkerState.IDLE, WorkerState.BETWEEN_STEPS]
    kills: list[Kill] = []
    frozen: dict[int, float] = {}  # pid: when to resume it
    freezes, resumed, rounds = 0, 0, []
    started = time.monotonic()
    with SupervisedWorkers(workers=2, env=RUN_WORKERS_ENV) as run:
        wait_until(lambda: len(run.worker_pids()) == 2, timeout=60, what="the cluster's first heartbeat")
        began = time.monotonic()
        next_load = next_kill = began
        while len(kills) < 10 or freezes < 3 or len(rounds) < 5 or frozen:
            now = time.monotonic()
            if now - began > 150:
                break
            if now >= next_load and len(sagas) < 300:
                sagas.extend(place(rng, customers, skus, ("orchestration", "choreography")) for _ in range(10))
                next_load = now + 1.0
            if len(kills) < 10 and now >= next_kill:
                kill = run.kill_worker(rng.choice(kinds), rng, spare=set(frozen))
                if kill is not None:
                    kills.append(kill)
                    next_kill = now + rng.uniform(2, 5)
            if freezes < 3 and not frozen and now - began > 5 + 20 * freezes:
                workers = [pid for pid in run.worker_pids() if process_alive(pid)]  # the heartbeat lags a kill
                busy = [pid for pid in lease_holders() if pid in workers] or workers
                if busy:
                    pid = rng.choice(busy)
                    os.kill(pid, signal.SIGSTOP)
                    frozen[pid] = now + FREEZE_SECONDS
                    freezes += 1
            for pid, until in list(frozen.items()):
                if now >= until:
                    with contextlib.suppress(ProcessLookupError):  # a restart may have killed it
                        os.kill(pid, signal.SIGCONT)
                        resumed += 1
                    del frozen[pid]
            if len(rounds) < 5 and now - began > 8 + 9 * len(rounds):
                rounds.append(terminate_cluster_connections())
            time.sleep(0.05)
        last_blow = time.monotonic()
        took = run_until_terminal(run, last_blow, "every saga to finish after the last blow")
        log = run.log()
        restarts = run.restarts()
    held = SagaStepLog.objects.filter(error_message__contains="frozen or held").count()
    by_kind = {kind.value: sum(1 for k in kills if k.kind == kind) for kind in kinds}
    # Attempts an idle-killed worker had lost before its kill (a freeze, a cut connection): not the kill's doing.
    lost_before = [
        (kill.pid, row.error_message[:60])
        for kill in kills
        if kill.kind == WorkerState.IDLE
        for row in SagaStepLog.objects.filter(
            worker__contains=f":{kill.pid}:", started_at__lte=kill.at, status=StepStatus.ABANDONED
        )
    ]
    print(
        f"\n{len(sagas)} orders of both styles in {time.monotonic() - started:.0f}s; {len(kills)} SIGKILLs {by_kind}; "
        f"{freezes} freezes of {FREEZE_SECONDS}s ({resumed} resumed); "
        f"{len(rounds)} rounds of terminated connections {rounds}; "
        f"every saga terminal {took:.1f}s after the last blow; run_workers restarts {restarts}; "
        f"queue read locks released {log.count('released the task que')}; "
        f"sweeps handing back dead workers' tasks {log.count('handed back')}; steps logged frozen/held {held}; "
        f"attempts idle-killed workers had lost before their kill {lost_before}; "
        f"{statuses()}"
    )
    assert len(sagas) >= 300 and len(kills) >= 10 and freezes == 3 and len(rounds) == 5
    assert all(rounds)
    assert_kills_landed_where_claimed(kills)
    assert_every_saga_finished_once()
