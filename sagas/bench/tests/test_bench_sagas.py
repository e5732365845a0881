"""bench_sagas end to end on a small run: its own cluster, every figure printed, the books still balance."""

import io
import json

import pytest
from django.core.management import call_command

from sagas.models import SagaInstance

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__", transaction=True)]

FIGURES = (
    "throughput",
    "enqueue rate",
    "end-to-end",
    "execution",
    "commits/saga",
    "queries/saga",
    "outcomes",
    "baseline",
    "ratio",
    "worker RSS",
    "consistency",
)


def run_bench(*args: str) -> tuple[str, dict]:
    out = io.StringIO()
    call_command("bench_sagas", *args, "--json", "-", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    return text, json.loads(text[text.index("\n{") :])


def test_a_small_run_with_a_baseline_prints_every_figure_and_leaves_no_violation():
    text, report = run_bench("--sagas", "24", "--baseline", "--rounds", "2", "--fail-rate", "0.25")
    for figure in FIGURES:
        assert f"\n{figure}" in f"\n{text}", f"{figure} missing from the report"
    assert report["consistency_violations"] == 0
    assert sum(report["outcomes"].values()) == 24
    assert set(report["outcomes"]) <= {"COMPLETED", "COMPENSATED"}
    assert report["outcomes"].get("COMPENSATED", 0) > 0
    assert report["sagas_per_second"] > 0 and report["baseline_per_second"] > 0
    assert report["ratio_to_baseline"] == round(report["sagas_per_second"] / report["baseline_per_second"], 3)
    assert 0 < report["e2e_p50_ms"] <= report["e2e_p95_ms"] <= report["e2e_p99_ms"]
    assert report["queries_per_saga"] > 0
    assert report["worker_rss_start_kib"] > 0 and report["worker_rss_end_kib"] > 0
    assert SagaInstance.objects.count() >= 24


def test_one_by_one_measures_each_saga_alone_with_choreography():
    _, report = run_bench("--sagas", "5", "--one-by-one", "--style", "choreography")
    assert report["outcomes"] == {"COMPLETED": 5}
    assert report["consistency_violations"] == 0
    assert 0 < report["e2e_p50_ms"] < 10_000


def test_bad_arguments_are_refused_before_anything_starts():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--fail-rate: Enter a number from 0 to 1"):
        call_command("bench_sagas", "--fail-rate", "2")
    with pytest.raises(CommandError, match="--clusters: Enter a whole number of at least 1"):
        call_command("bench_sagas", "--clusters", "0")
    with pytest.raises(CommandError, match="--workers: Enter a whole number of at least 1"):
        call_command("bench_sagas", "--workers", "0")
    with pytest.raises(CommandError, match="--broker redis needs Q_BROKER=redis in this command's environment"):
        call_command("bench_sagas", "--broker", "redis")
