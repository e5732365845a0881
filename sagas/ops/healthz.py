"""Health of the deployment, for /healthz: every database alias answers and a worker cluster is alive.

A worker cluster counts as alive when django-q2 says so: each cluster's sentinel writes its
status (the Stat: host, its workers' pids, Idle or Working) to the shared "cluster" cache
every guard cycle (half a second) with a three-second expiry, so a killed or hung cluster
drops out within seconds, seen from any host. That proves the sentinel runs, not that its
workers take work (django-q2 #23: a dead worker can stall a cluster while the sentinel looks
fine), so the check also applies the stall rule of `sagas.ops.health.worker_health`: queued
tasks free to take for HEALTH_QUEUE_STALL_SECONDS while no step finished in that time.

The endpoint is public, for probes, so an anonymous caller gets the status only: host names,
pids, cluster ids and database error text are for operators, meaning a signed-in staff user or
a caller with the METRICS_TOKEN bearer token (the one Prometheus already holds for /metrics).
"""

import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat

from sagas.ops.health import worker_health


@dataclass
class Check:
    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, **self.detail}
        if self.error:
            body["error"] = self.error
        return body


def _error_text(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def check_database(alias: str) -> Check:
    """SELECT 1 on one alias, timed."""
    started = time.perf_counter()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # whatever the driver raises, the alias is down for us
        connections[alias].close_if_unusable_or_obsolete()
        return Check(f"database:{alias}", False, error=_error_text(error))
    return Check(f"database:{alias}", True, {"ms": round((time.perf_counter() - started) * 1000, 1)})


def live_clusters() -> list[dict[str, Any]]:
    """The worker clusters that are running, by the status they published in the last seconds."""
    running = {str(Conf.IDLE), str(Conf.WORKING)}
    now = timezone.now()
    clusters = []
    for stat in Stat.get_all(broker=get_broker()):
        if str(stat.status) not in running or not stat.workers:
            continue
        clusters.append(
            {
                "cluster": str(stat.cluster_id),
                "host": stat.host,
                "pid": stat.pid,
                "status": str(stat.status),
                "workers": len(stat.workers),
                "seen_seconds_ago": round(max((now - stat.timestamp).total_seconds(), 0.0), 1),
            }
        )
    return sorted(clusters, key=lambda cluster: (cluster["host"], cluster["pid"]))


def check_workers() -> Check:
    """At least one cluster is alive and, when work is waiting, work is being done."""
    try:
        clusters = live_clusters()
    except Exception as error:  # the cache table missing, or its database down
        return Check("workers", False, error=f"cluster status unreadable: {_error_text(error)}")
    detail: dict[str, Any] = {"clusters": clusters}
    if not clusters:
        return Check("workers", False, detail, error="no worker cluster is alive")
    if Conf.ORM:
        stall = worker_health(stall_seconds=settings.HEALTH_QUEUE_STALL_SECONDS)
        detail["queue"] = stall.reason
        if not stall.healthy:
            return Check("workers", False, detail, error=f"stalled: {stall.reason}")
    return Check("workers", True, detail)


def health_report() -> tuple[bool, dict[str, Any]]:
    """Whether everything is healthy, and a JSON-ready body with each check and what failed."""
    checks = [check_database(alias) for alias in settings.DATABASES]
    if all(check.ok for check in checks if check.name == "database:default"):
        checks.append(check_workers())
    else:
        # The cluster status and the queue both live on `default`.
        checks.append(Check("workers", False, error="not checked: the default database is down"))
    failed = [f"{check.name}: {check.error}" for check in checks if not check.ok]
    return not failed, {
        "status": "ok" if not failed else "unhealthy",
        "checks": {check.name: check.as_dict() for check in checks},
        "failed": failed,
    }


def bearer_token_matches(request: HttpRequest, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>`; never for an empty token."""
    if not token:
        return False
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


def may_see_details(request: HttpRequest) -> bool:
    """Staff signed in, or the METRICS_TOKEN bearer token: who may read what each check found."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    return bearer_token_matches(request, settings.METRICS_TOKEN)


def health_report_for(request: HttpRequest) -> tuple[bool, dict[str, Any]]:
    """health_report(), trimmed to the status for a caller who may not see the details."""
    healthy, body = health_report()
    if not may_see_details(request):
        return healthy, {"status": body["status"]}
    return healthy, body
