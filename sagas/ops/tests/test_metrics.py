"""/metrics: Prometheus text read from the database, so it sees every worker's work."""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from sagas.engine.queue import enqueue_saga
from sagas.models import SagaInstance, SagaStatus, SagaStepLog
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _no_snapshot_from_other_tests():
    """The saga count snapshot lives in the shared cache, which outlives a test's data."""
    caches["cluster"].clear()


def scrape(client, **headers) -> dict[tuple[str, frozenset], float]:
    """Every sample of one scrape, keyed by (sample name, labels)."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def place(units=1):
    saga, _ = saga_start(toy.NAME, {"units": units})
    return saga


def test_a_completed_saga_moves_the_started_and_finished_counters(client, db):
    before = scrape(client)
    place()
    drain()
    after = scrape(client)
    assert value(after, "sagas_started_total") == value(before, "sagas_started_total") + 1
    completed = value(after, "sagas_finished_total", outcome="completed")
    assert completed == value(before, "sagas_finished_total", outcome="completed") + 1
    assert value(after, "sagas_finished_total", outcome="compensated") == 0


def test_a_refused_saga_is_counted_as_compensated(client, db):
    place(units=toy.LIMIT + 1)
    drain()
    samples = scrape(client)
    assert value(samples, "sagas_finished_total", outcome="compensated") == 1
    assert value(samples, "sagas_finished_total", outcome="completed") == 0


def test_a_saga_not_yet_run_is_active_and_its_task_is_ready(client, db):
    place()
    samples = scrape(client)
    assert value(samples, "sagas_active", status="PENDING") == 1
    assert value(samples, "sagas_active", status="RUNNING") == 0
    assert value(samples, "saga_queue_tasks", queue="saga", state="ready") == 1
    assert value(samples, "saga_queue_tasks", queue="saga", state="delayed") == 0


def test_a_run_waiting_for_its_backoff_is_a_delayed_task(client, db):
    saga = place()
    drain()
    with transaction.atomic(using="default"):
        enqueue_saga(saga.pk, delay_seconds=60)
    samples = scrape(client)
    assert value(samples, "saga_queue_tasks", queue="saga", state="delayed") == 1
    assert value(samples, "saga_queue_tasks", queue="saga", state="ready") == 0


def test_every_step_attempt_of_a_finished_saga_is_in_the_duration_histogram(client, db):
    place()
    drain()
    samples = scrape(client)
    for step in ("book_units", "check_limit", "confirm_booking"):
        labels = {"step": step, "direction": "forward"}
        assert value(samples, "saga_step_duration_seconds_gcount", **labels) == 1
        assert value(samples, "saga_step_duration_seconds_bucket", le="+Inf", **labels) == 1
        bounds = sorted(
            (float(dict(key)["le"]), count)
            for (name, key), count in samples.items()
            if name == "saga_step_duration_seconds_bucket" and dict(key)["step"] == step
        )
        counts = [count for _, count in bounds]
        assert counts == sorted(counts), "buckets must be cumulative"
        assert value(samples, "saga_step_attempts_recent", outcome="succeeded", **labels) == 1


def test_a_step_slower_than_the_last_bound_is_only_in_the_infinite_bucket(client, db):
    place()
    drain()
    now = timezone.now()
    SagaStepLog.objects.filter(step_name="book_units").update(started_at=now - timedelta(seconds=200), finished_at=now)
    samples = scrape(client)
    labels = {"step": "book_units", "direction": "forward"}
    assert value(samples, "saga_step_duration_seconds_bucket", le="120.0", **labels) == 0
    assert value(samples, "saga_step_duration_seconds_bucket", le="+Inf", **labels) == 1
    assert 199 < value(samples, "saga_step_duration_seconds_gsum", **labels) < 201


def test_a_failed_attempt_is_counted_by_its_outcome(client, db):
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=1)
    place()
    drain()
    samples = scrape(client)
    labels = {"step": "check_limit", "direction": "forward"}
    assert value(samples, "saga_step_attempts_recent", outcome="failed", **labels) == 1
    assert value(samples, "saga_step_attempts_recent", outcome="succeeded", **labels) == 1
    assert value(samples, "saga_step_duration_seconds_gcount", **labels) == 2


def test_steps_that_finished_before_the_window_are_left_out(client, db, settings):
    settings.METRICS_STEP_WINDOW_SECONDS = 60
    place()
    drain()
    long_ago = timezone.now() - timedelta(minutes=5)
    SagaStepLog.objects.update(started_at=long_ago, finished_at=long_ago)
    samples = scrape(client)
    assert not [key for key in samples if key[0].startswith("saga_step_")]


def test_stuck_paused_and_unresolved_sagas_are_counted(client, db):
    stuck, paused, failed = place(), place(), place()
    past = timezone.now() - timedelta(minutes=1)
    SagaInstance.objects.filter(pk=stuck.pk).update(status=SagaStatus.RUNNING, lease_expires_at=past)
    SagaInstance.objects.filter(pk=paused.pk).update(paused=True, deadline_at=past)
    SagaInstance.objects.filter(pk=failed.pk).update(status=SagaStatus.FAILED)
    samples = scrape(client)
    assert value(samples, "sagas_stuck") == 1
    assert value(samples, "sagas_paused") == 1
    assert value(samples, "sagas_failed_unresolved") == 1
    assert value(samples, "sagas_failed") == 1


def test_no_worker_cluster_reads_zero_clusters(client, db):
    samples = scrape(client)
    assert value(samples, "saga_worker_clusters") == 0
    assert value(samples, "saga_worker_processes") == 0


def test_the_exposition_is_prometheus_text(client, db):
    response = client.get("/metrics")
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"].startswith("max-age=0")


def test_with_a_token_set_a_scrape_without_it_is_refused(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-token")[("sagas_started_total", frozenset())] == 0
