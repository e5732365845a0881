"""/healthz: 200 when every database answers and a worker cluster is alive; 503 naming what failed."""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connections
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from sagas.testing.cluster import WorkerCluster, wait_until

ALIASES = ("default", "orders", "payments", "inventory")


HEALTH_DETAILS_TOKEN = "health-details-token"


@pytest.fixture(autouse=True)
def _details_token(settings):
    """These tests read what each check found, which /healthz shows only to staff or the token."""
    settings.METRICS_TOKEN = HEALTH_DETAILS_TOKEN


@pytest.fixture(autouse=True)
def _no_cluster_status_from_other_tests():
    """Cluster statuses live in the shared cache, which outlives a test's data."""
    caches["cluster"].clear()


def healthz(client):
    response = client.get("/healthz", headers={"Authorization": f"Bearer {HEALTH_DETAILS_TOKEN}"})
    return response.status_code, response.json()


def publish_cluster_status(status=Conf.IDLE, workers=(101, 102)) -> None:
    """Write a cluster status to the shared cache the way a cluster's sentinel does each guard cycle."""
    stat = Status(pid=100, cluster_id=uuid.uuid4())
    stat.status = status
    stat.workers = list(workers)
    get_broker().set_stat(Stat.get_key(stat.cluster_id), SignedPackage.dumps(stat, True), 3)


@pytest.mark.django_db(databases="__all__")
def test_no_live_worker_cluster_is_unhealthy(client):
    status, body = healthz(client)
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["failed"] == ["workers: no worker cluster is alive"]
    assert all(body["checks"][f"database:{alias}"]["ok"] for alias in ALIASES)


@pytest.mark.django_db(databases="__all__")
def test_a_live_cluster_and_answering_databases_are_healthy(client):
    publish_cluster_status()
    status, body = healthz(client)
    assert status == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"]["workers"]["clusters"][0]["workers"] == 2


@pytest.mark.django_db(databases="__all__")
def test_a_stopping_cluster_does_not_count_as_alive(client):
    publish_cluster_status(status=Conf.STOPPING)
    assert healthz(client)[0] == 503


@pytest.mark.django_db(databases="__all__")
def test_a_cluster_that_takes_no_work_is_unhealthy(client, settings):
    settings.HEALTH_QUEUE_STALL_SECONDS = 60
    publish_cluster_status()
    OrmQ.objects.create(key="saga", payload="-", lock=timezone.now() - timedelta(minutes=5))
    status, body = healthz(client)
    assert status == 503
    assert body["failed"][0].startswith("workers: stalled:")


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_database_that_is_down_is_named(client, monkeypatch):
    connection = connections["payments"]
    connection.close()
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent-directory/payments.sqlite3")
    else:
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", "1")  # nothing listens there
    publish_cluster_status()
    status, body = healthz(client)
    connection.close()
    assert status == 503
    assert [failure.split(":")[:2] for failure in body["failed"]] == [["database", "payments"]]
    assert "OperationalError" in body["checks"]["database:payments"]["error"]
    assert body["checks"]["database:orders"]["ok"] and body["checks"]["workers"]["ok"]


@pytest.mark.slow
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_real_cluster_makes_it_healthy_and_stopping_it_unhealthy(client):
    assert healthz(client)[0] == 503
    with WorkerCluster(workers=1):
        wait_until(lambda: healthz(client)[0] == 200, timeout=60, what="/healthz to see the cluster")
        clusters = healthz(client)[1]["checks"]["workers"]["clusters"]
        assert [cluster["workers"] for cluster in clusters] == [1]
    # A stopped cluster's status expires from the cache within seconds.
    wait_until(lambda: healthz(client)[0] == 503, timeout=15, what="/healthz to see the cluster gone")
