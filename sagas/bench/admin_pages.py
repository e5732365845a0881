"""Timing the operator's pages on a big saga table: the admin saga list and check_consistency.

Pages are fetched through Django's test client, which runs the whole request (middleware,
session, admin, templates) without a network in the way; each page is fetched several times
and its median reported, with the number of queries it took on `default` and the rows it shows.
"""

import contextlib
import io
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from sagas.bench import fill as bench_fill
from sagas.models import SagaInstance, SagaStatus, SagaStepLog

BENCH_USER = "bench-admin"
ROW_MARKER = b'name="_selected_action"'


@dataclass
class Timing:
    label: str
    seconds: list[float] = field(default_factory=list)
    queries: int = 0
    rows: int = 0
    detail: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "median_ms": round(self.median_ms, 1),
            "min_ms": round(min(self.seconds) * 1000, 1),
            "max_ms": round(max(self.seconds) * 1000, 1),
            "runs": len(self.seconds),
            "queries": self.queries,
            "rows": self.rows,
            "detail": self.detail,
        }


def fill_to(total: int, chunk: int = 100_000, progress: Callable[[int, int], None] | None = None) -> int:
    """Add filled sagas until the table holds `total`; returns how many were added."""
    have = SagaInstance.objects.count()
    added = 0
    while have + added < total:
        size = min(chunk, total - have - added)
        bench_fill.fill(size, seed=have + added)
        added += size
        if progress:
            progress(have + added, total)
    if added and connections["default"].vendor == "postgresql":
        # What autovacuum would do a little later: the planner must know the tables' new size.
        for alias in ("default", "orders", "payments", "inventory"):
            with connections[alias].cursor() as cursor:
                cursor.execute("ANALYZE")
    return added


def list_pages() -> list[tuple[str, str]]:
    """The saga list as an operator opens it: first page, each filter, each kind of search, a deep page."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    one = SagaInstance.objects.order_by("-created_at").values("id", "business_key", "party").first() or {}
    failed = SagaInstance.objects.filter(status=SagaStatus.FAILED).values_list("id", flat=True).first()
    pages = [
        ("first page", {}),
        ("status = FAILED", {"status__exact": SagaStatus.FAILED}),
        ("status = COMPLETED", {"status__exact": SagaStatus.COMPLETED}),
        ("status = RUNNING", {"status__exact": SagaStatus.RUNNING}),
        ("type = order", {"type": "order"}),
        ("style = choreography", {"style__exact": "choreography"}),
        ("created today", {"created_at__gte": str(today), "created_at__lt": str(today + timedelta(days=1))}),
        (
            "created past 7 days",
            {"created_at__gte": str(today - timedelta(days=7)), "created_at__lt": str(today + timedelta(days=1))},
        ),
        ("stuck", {"stuck": "yes"}),
        ("needs attention", {"attention": "yes"}),
        (
            "FAILED + created past 7 days",
            {"status__exact": SagaStatus.FAILED, "created_at__gte": str(today - timedelta(days=7))},
        ),
        ("page 200", {"p": "199"}),
    ]
    if one:
        pages += [
            ("search: saga id", {"q": str(one["id"])}),
            ("search: order id", {"q": str(one["business_key"])}),
            ("search: customer", {"q": one["party"]}),
        ]
    base = reverse("admin:sagas_sagainstance_changelist")
    urls = [(label, f"{base}?{urlencode(params)}" if params else base) for label, params in pages]
    if failed:
        urls.append(("saga page (a FAILED saga)", reverse("admin:sagas_sagainstance_change", args=[failed])))
    return urls


def time_pages(runs: int) -> list[Timing]:
    user, _ = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    timings = []
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        for label, url in list_pages():
            timing = Timing(label, detail=url)
            client.get(url)  # warm: templates compiled, connection open, as for any page after the first
            for _ in range(runs):
                with CaptureQueriesContext(connections["default"]) as captured:
                    started = time.perf_counter()
                    response = client.get(url)
                    timing.seconds.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")
                timing.queries = len(captured)
                timing.rows = response.content.count(ROW_MARKER)
            timings.append(timing)
    return timings


def time_consistency(runs: int) -> Timing:
    timing = Timing("check_consistency")
    for _ in range(runs):
        out = io.StringIO()
        started = time.perf_counter()
        # Exit 1 means violations: they are reported below, the measurement stands.
        with contextlib.suppress(SystemExit):
            call_command("check_consistency", "--json", stdout=out)
        timing.seconds.append(time.perf_counter() - started)
        report = json.loads(out.getvalue())
        timing.rows = len(report["violations"])
        timing.detail = "no violations" if report["ok"] else f"{timing.rows} violations"
    return timing


def table_sizes() -> dict[str, int]:
    return {"sagas": SagaInstance.objects.count(), "step_logs": SagaStepLog.objects.count()}
