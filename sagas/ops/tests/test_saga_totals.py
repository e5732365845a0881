"""Saga counts by status from a shared snapshot: exact, and without reading every saga."""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sagas.models import SagaInstance, SagaStatus
from sagas.ops import totals as saga_totals

pytestmark = pytest.mark.django_db(databases="__all__")

S = SagaStatus


@pytest.fixture(autouse=True)
def _no_snapshot_from_other_tests():
    caches["cluster"].clear()


def make(status: str, age: timedelta = timedelta(0)) -> SagaInstance:
    saga = SagaInstance.objects.create(definition_name="order", definition_version=1, status=status)
    if age:
        SagaInstance.objects.filter(pk=saga.pk).update(created_at=timezone.now() - age)
    return saga


@pytest.fixture
def history():
    """Old sagas (before any cut) in every status, and recent ones."""
    old = {status: [make(status, timedelta(hours=3)) for _ in range(2)] for status in S}
    recent = {status: make(status) for status in S}
    return old, recent


def test_counts_equal_a_full_count(history):
    assert saga_totals.status_counts() == saga_totals.status_counts_full()
    assert saga_totals.status_counts()[S.COMPLETED] == 3


def test_an_old_saga_that_finishes_after_the_snapshot_is_counted(history):
    old, _ = history
    saga_totals.status_counts()
    SagaInstance.objects.filter(pk=old[S.FAILED][0].pk).update(status=S.COMPLETED)
    SagaInstance.objects.filter(pk=old[S.RUNNING][0].pk).update(status=S.COMPENSATED)
    counts = saga_totals.status_counts()
    assert counts == saga_totals.status_counts_full()
    assert counts[S.COMPLETED] == 4 and counts[S.COMPENSATED] == 4


def test_moving_the_cut_forward_keeps_the_counts_exact(history):
    _, recent = history
    now = timezone.now()
    saga_totals.status_counts(now)
    SagaInstance.objects.filter(pk=recent[S.RUNNING].pk).update(status=S.COMPLETED)
    later = now + timedelta(minutes=25)
    counts = saga_totals.status_counts(later)
    assert caches["cluster"].get(saga_totals.CACHE_KEY)["cut"] > now
    assert counts == saga_totals.status_counts_full()


def test_an_expired_snapshot_is_rebuilt_from_scratch(history):
    now = timezone.now()
    saga_totals.status_counts(now)
    make(S.COMPLETED, timedelta(hours=5))  # written behind the snapshot's back
    assert saga_totals.status_counts(now + timedelta(hours=2)) == saga_totals.status_counts_full()


def test_too_many_unfinished_old_sagas_fall_back_to_a_full_count(history, monkeypatch):
    monkeypatch.setattr(saga_totals, "PENDING_LIMIT", 3)
    assert saga_totals.status_counts() == saga_totals.status_counts_full()
    assert caches["cluster"].get(saga_totals.CACHE_KEY) is None


def test_with_a_snapshot_a_count_runs_three_small_queries(history):
    saga_totals.status_counts()
    with CaptureQueriesContext(connection) as queries:
        saga_totals.status_counts()
    assert len(queries) == 3
    saga_queries = [query["sql"] for query in queries if "sagas_sagainstance" in query["sql"]]
    assert all("WHERE" in sql for sql in saga_queries), "no query may read every saga"
