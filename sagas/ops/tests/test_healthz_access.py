"""/healthz tells anyone whether the site is healthy, and what each check found (host names,
pids, cluster ids, database errors) only to staff or to a caller with the METRICS_TOKEN."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.db import connections
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

pytestmark = pytest.mark.django_db(databases="__all__")

TOKEN = "scraper-token-0123456789"


@pytest.fixture(autouse=True)
def _a_live_cluster(settings):
    """A healthy site: one cluster whose status names its host and pids, and a metrics token."""
    settings.METRICS_TOKEN = TOKEN
    caches["cluster"].clear()
    stat = Status(pid=4242, cluster_id=uuid.uuid4())
    stat.status = Conf.IDLE
    stat.workers = [4243, 4244]
    get_broker().set_stat(Stat.get_key(stat.cluster_id), SignedPackage.dumps(stat, True), 3)
    yield stat
    caches["cluster"].clear()


def test_an_anonymous_caller_gets_the_status_and_nothing_else(client, _a_live_cluster):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert str(_a_live_cluster.cluster_id) not in response.content.decode()


def test_the_metrics_token_or_a_staff_login_shows_the_details(client, _a_live_cluster):
    with_token = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    [cluster] = with_token["checks"]["workers"]["clusters"]
    assert (cluster["cluster"], cluster["pid"]) == (str(_a_live_cluster.cluster_id), 4242)
    client.force_login(User.objects.create_user("operator", is_staff=True))
    as_staff = client.get("/healthz").json()
    assert as_staff["status"] == "ok" and as_staff["failed"] == []
    assert [cluster["pid"] for cluster in as_staff["checks"]["workers"]["clusters"]] == [4242]


def test_a_wrong_token_or_a_customer_login_gets_the_status_only(client):
    assert client.get("/healthz", headers={"Authorization": "Bearer guess"}).json() == {"status": "ok"}
    client.force_login(User.objects.create_user("alice"))
    assert client.get("/healthz").json() == {"status": "ok"}


def test_without_a_metrics_token_only_staff_see_the_details(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/healthz", headers={"Authorization": "Bearer "}).json() == {"status": "ok"}
    client.force_login(User.objects.create_user("operator", is_staff=True))
    assert "checks" in client.get("/healthz").json()


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_an_anonymous_caller_learns_a_database_is_down_but_not_its_error(client, monkeypatch):
    connection = connections["payments"]
    connection.close()
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent-directory/payments.sqlite3")
    else:
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", "1")
    anonymous = client.get("/healthz")
    detailed = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    connection.close()
    assert (anonymous.status_code, anonymous.json()) == (503, {"status": "unhealthy"})
    assert "OperationalError" in detailed.json()["checks"]["database:payments"]["error"]
