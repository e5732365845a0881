"""A worker cluster stopped the proper way (SIGTERM to its main process) loses nothing and stops quickly."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from orders.placement import order_place
from sagas.consistency import find_violations
from sagas.engine.queue import queued_saga_ids
from sagas.models import Direction, SagaStatus, SagaStepLog, StepStatus
from sagas.testing.cluster import WorkerCluster, database_environment, descendant_pids, wait_until
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]


def attempts(saga):
    return list(
        SagaStepLog.objects.filter(saga=saga, direction=Direction.FORWARD)
        .order_by("started_at", "id")
        .values_list("step_name", "status")
    )


def test_sigterm_to_the_main_process_finishes_the_step_in_flight_and_hands_the_saga_back(shop):
    FaultRuleFactory(operation="inventory.stock_reserve", mode="delay", delay_seconds=3)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    with WorkerCluster(workers=1) as cluster:
        wait_until(
            lambda: ("reserve_stock", StepStatus.RUNNING) in attempts(saga),
            timeout=60,
            what="the worker to be inside the slow reserve_stock step",
        )
        cluster.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        cluster.process.wait(30)
        stop_seconds = time.monotonic() - signalled
    print(f"cluster stopped {stop_seconds:.1f}s after SIGTERM")
    assert cluster.process.returncode is not None
    # The step in flight ran to its end and was checkpointed: nothing was cut off mid-call.
    assert attempts(saga) == [("create_order", StepStatus.SUCCEEDED), ("reserve_stock", StepStatus.SUCCEEDED)]
    saga.refresh_from_db()
    assert (saga.status, saga.current_step, saga.lease_owner) == (SagaStatus.RUNNING, "charge_payment", "")
    assert str(saga.pk) in queued_saga_ids()
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert find_violations() == []


def _worker_line() -> str:
    """The worker command of the project's Procfile, as `make run` starts it."""
    procfile = Path(settings.BASE_DIR) / "Procfile"
    [line] = [line for line in procfile.read_text().splitlines() if line.startswith("worker:")]
    return line


def test_ctrl_c_on_honcho_stops_the_procfile_worker_gracefully_and_leaves_no_process(shop, tmp_path):
    FaultRuleFactory(operation="inventory.stock_reserve", mode="delay", delay_seconds=2)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    (tmp_path / "Procfile").write_text(_worker_line() + "\n")
    log = tmp_path / "honcho.log"  # a file, not a pipe: a full pipe would block the workers
    env = {**os.environ, **database_environment(), "Q_WORKERS": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    sink = log.open("wb")
    honcho = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "honcho"),
            "start",
            "-f",
            str(tmp_path / "Procfile"),
            "-d",
            settings.BASE_DIR,
        ],
        env=env,
        stdout=sink,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: ("reserve_stock", StepStatus.RUNNING) in attempts(saga),
            timeout=60,
            what="the worker to be inside the slow reserve_stock step",
        )
        processes = descendant_pids(honcho.pid)
        honcho.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal delivers to honcho
        honcho.wait(30)
    finally:
        for pid in [*descendant_pids(honcho.pid), honcho.pid]:  # only if the graceful stop failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        sink.close()
        output = log.read_text(errors="replace")
    print(output)
    assert "SIGKILL" not in output, "the cluster had to be killed"
    assert attempts(saga) == [("create_order", StepStatus.SUCCEEDED), ("reserve_stock", StepStatus.SUCCEEDED)]
    assert not [pid for pid in processes if Path(f"/proc/{pid}").exists()], "a worker process outlived make run"
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
