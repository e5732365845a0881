"""What a supervised cluster's heartbeat makes worker_health and /metrics say, the same rule in both."""

import io
import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from sagas.engine.queue import enqueue_saga
from sagas.ops.metrics import render_metrics
from sagas.workers import heartbeat as cluster_state

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _empty_cluster_cache():
    caches["cluster"].clear()


def live_cluster(*, finished_in_window: int, restarts: int = 0, up_seconds: float = 600) -> None:
    """A cluster alive as django-q2 sees it, with the heartbeat run_workers' cluster publishes."""
    stat = Status(pid=4242, cluster_id=uuid.uuid4())
    stat.status = Conf.WORKING
    stat.workers = [1, 2]
    get_broker().set_stat(Stat.get_key(stat.cluster_id), SignedPackage.dumps(stat, True), 30)
    now = time.time()
    cluster_state.publish(
        cluster_state.ClusterHeartbeat(
            host=stat.host,
            pid=4242,
            sentinel=4243,
            started_at=now - up_seconds,
            at=now,
            window_seconds=120,
            workers=[1, 2],
            finished=100,
            finished_in_window=finished_in_window,
            last_finish_at=now - 200,
            supervisor="web-1:99",
            restarts=restarts,
        )
    )


def backlog_of(tasks: int, seconds_ago: float = 300) -> None:
    for _ in range(tasks):
        enqueue_saga(uuid.uuid4())
    OrmQ.objects.update(lock=timezone.now() - timedelta(seconds=seconds_ago))


def health() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("worker_health", stdout=out)
    except SystemExit as exit_info:
        return exit_info.code, out.getvalue()
    return 0, out.getvalue()


def test_a_cluster_that_finished_too_little_against_the_backlog_is_stalled_everywhere():
    live_cluster(finished_in_window=1, restarts=3)
    backlog_of(6)
    code, out = health()
    assert code == 1
    assert "this cluster finished 1 in that window (at least 2 needed)" in out
    metrics = render_metrics().decode()
    assert 'saga_worker_restarts_total{cluster="web-1:99"} 3.0' in metrics
    assert 'saga_worker_stalled{cluster="web-1:99"} 1.0' in metrics
    assert 'saga_worker_seconds_without_progress{cluster="web-1:99"} 200' in metrics


def test_a_cluster_draining_the_backlog_is_not_called_stalled_in_the_metrics():
    live_cluster(finished_in_window=40)
    backlog_of(6)
    code, _ = health()
    metrics = render_metrics().decode()
    # The step log is empty (the tasks here are not saga steps): the deployment-wide rule alone would stall.
    assert code == 1
    assert 'saga_worker_stalled{cluster="web-1:99"} 0.0' in metrics
