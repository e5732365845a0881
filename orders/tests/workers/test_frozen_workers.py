"""Workers frozen with SIGSTOP past their lease and resumed with SIGCONT, under `run_workers`, on PostgreSQL.

What the step log says of a frozen worker's step, and what `worker_health` says while the
backlog builds behind frozen workers and after one of them comes back.
"""

import os
import signal
import time
from decimal import Decimal

import pytest

from inventory.tests.factories import ProductFactory
from orders.fault_points import OrderFault
from orders.placement import order_place
from orders.tests.support.effects import duplicate_effects
from payments.tests.factories import AccountFactory
from sagas.models import ACTIVE_STATUSES, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.ops.health import worker_health
from sagas.testing.cluster import SupervisedWorkers, lease_holders, wait_until
from sagas.tests.factories import FaultRuleFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.chaos,
    pytest.mark.django_db(databases="__all__", transaction=True),
]

LEASE_SECONDS = 11  # the order saga's step timeout (10 s) plus SAGA_LEASE_MARGIN_SECONDS
ENV = {
    "SAGA_LEASE_MARGIN_SECONDS": "1",
    "WORKER_SWEEP_SECONDS": "2",
    "WORKER_MISSING_SECONDS": "3",
    # run_workers' own stall window is longer than the freezes here: it does not restart the cluster.
    "HEALTH_QUEUE_STALL_SECONDS": "60",
}
WINDOW = 10  # the stall window worker_health is asked about


@pytest.fixture
def shop(db):
    AccountFactory(customer="frozen", balance=Decimal("5000.00"))
    ProductFactory(sku="FROZEN-1", unit_price=Decimal("10.00"), stock_on_hand=500)


def place(orders: int) -> list[SagaInstance]:
    return [order_place(customer="frozen", sku="FROZEN-1", quantity=1, style="orchestration")[0] for _ in range(orders)]


def all_terminal() -> bool:
    return not SagaInstance.objects.filter(status__in=ACTIVE_STATUSES).exists()


def caught_in_steps(run: SupervisedWorkers, count: int) -> dict[int, str]:
    """Wait until `count` workers of the cluster run a step; {pid: saga id}."""
    found: dict[int, str] = {}

    def busy() -> bool:
        found.clear()
        workers = set(run.worker_pids())
        found.update({pid: saga for pid, saga in lease_holders().items() if pid in workers})
        return len(found) >= count

    wait_until(busy, timeout=30, interval=0.05, what=f"{count} worker(s) to be in a step")
    return dict(found)


def test_a_worker_frozen_past_its_lease_and_resumed_says_so_and_its_answer_is_dated_when_it_came(shop):
    FaultRuleFactory(operation=OrderFault.ORDER_CREATE, mode="delay", phase="before", delay_seconds=4, remaining=1)
    with SupervisedWorkers(workers=2, env=ENV) as run:
        wait_until(lambda: len(run.worker_pids()) == 2, timeout=60, what="the cluster's first heartbeat")
        (saga,) = place(1)
        ((pid, saga_id),) = caught_in_steps(run, 1).items()
        os.kill(pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        # The other worker takes the saga over once the lease ran out (run_workers' sweep) and finishes it.
        wait_until(all_terminal, timeout=LEASE_SECONDS + 30, what="the other worker to finish the saga")
        time.sleep(max(0.0, frozen_at + LEASE_SECONDS + 3 - time.monotonic()))
        os.kill(pid, signal.SIGCONT)
        attempt = SagaStepLog.objects.get(saga=saga, attempt=1, step_name="create_order")
        wait_until(
            lambda: "frozen" in SagaStepLog.objects.get(pk=attempt.pk).error_message,
            timeout=20,
            what="the resumed worker's answer",
        )
    attempt.refresh_from_db()
    takeover = SagaStepLog.objects.get(saga=saga, attempt=2, step_name="create_order")
    saga.refresh_from_db()
    print(f"\n{attempt.error_message}")
    assert str(saga.pk) == saga_id and saga.status == SagaStatus.COMPLETED
    assert attempt.status == StepStatus.ABANDONED
    assert f"Worker process {pid} was frozen or held past its lease on saga {saga.pk}" in attempt.error_message
    assert f"worker process {pid} running saga {saga.pk} was frozen or held" in attempt.error_message
    assert "exceeded its timeout" not in attempt.error_message
    assert attempt.finished_at > takeover.started_at, "the answer is dated when it came, after the takeover"
    assert duplicate_effects() == []


def test_worker_health_stays_stalled_after_one_frozen_worker_resumes_while_the_backlog_waits(shop):
    # Every order's first step takes 6 s: the workers are caught in steps, and one resumed worker
    # finishes one step (its own, cut off) before it can finish another.
    rule = FaultRuleFactory(operation=OrderFault.ORDER_CREATE, mode="delay", phase="before", delay_seconds=6)
    reports = []
    with SupervisedWorkers(workers=2, env=ENV) as run:
        wait_until(lambda: len(run.worker_pids()) == 2, timeout=60, what="the cluster's first heartbeat")
        place(2)
        frozen = sorted(caught_in_steps(run, 2))
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        backlog = place(30)
        time.sleep(LEASE_SECONDS + 3)  # past the lease and the window
        before = worker_health(stall_seconds=WINDOW)
        first, second = frozen
        os.kill(first, signal.SIGCONT)
        held = SagaStepLog.objects.filter(worker__contains=f":{first}:", error_message__contains="frozen or held")
        wait_until(held.exists, timeout=15, interval=0.1, what="the resumed worker's straggler answer")
        straggler_done = time.monotonic()
        while time.monotonic() - straggler_done < 4:  # the resumed worker is in its next 6 s step
            reports.append(worker_health(stall_seconds=WINDOW))
            time.sleep(0.5)
        os.kill(second, signal.SIGCONT)
        rule.delete()
        wait_until(all_terminal, timeout=90, what="the backlog to drain")
        time.sleep(3)
        after = worker_health(stall_seconds=WINDOW)
    print(f"\nbefore: {before.reason}\nafter the straggler: {reports[0].reason}\ndrained: {after.reason}")
    assert not before.healthy and before.waiting_tasks > 0
    assert reports and not any(report.healthy for report in reports), [r.reason for r in reports if r.healthy]
    assert all(report.waiting_tasks > 0 for report in reports)
    # The straggler's finish was in the window, and it did not make the waiting backlog healthy.
    assert any(report.steps_finished_in_window >= 1 for report in reports)
    assert all("restart the cluster" in report.reason for report in reports)
    assert after.healthy
    assert len(backlog) == 30 and duplicate_effects() == []
