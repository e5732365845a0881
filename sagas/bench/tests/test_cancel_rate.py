"""bench_sagas --cancel-rate: a share of the completed sagas cancelled, and the cancelling sagas measured."""

import dataclasses
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sagas.bench import run


def run_bench(*args: str) -> tuple[str, dict]:
    out = io.StringIO()
    call_command("bench_sagas", *args, "--json", "-", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    return text, json.loads(text[text.index("\n{") :])


@pytest.mark.slow
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_half_the_completed_orders_are_cancelled_and_their_sagas_measured_with_the_books_balanced():
    text, report = run_bench("--sagas", "12", "--cancel-rate", "0.5")
    assert report["outcomes"] == {"COMPLETED": 12}
    assert report["cancel_saga"] == "order_cancellation"
    assert report["cancel_sagas"] == 6 and report["cancel_refused"] == 0
    assert report["cancel_outcomes"] == {"COMPLETED": 6}
    assert report["cancel_per_second"] > 0
    assert 0 < report["cancel_e2e_p50_ms"] <= report["cancel_e2e_p95_ms"]
    assert report["cancel_queries_per_saga"] > 0
    assert report["consistency_violations"] == 0
    assert "\ncancellations  6 order_cancellation sagas" in text


def test_a_cancel_rate_outside_0_to_1_is_refused():
    with pytest.raises(CommandError, match="--cancel-rate: Enter a number from 0 to 1"):
        call_command("bench_sagas", "--cancel-rate", "1.5")


def test_a_cancel_rate_for_a_saga_without_a_cancellation_is_refused_before_anything_starts(monkeypatch):
    order = run.run_workload("order")
    monkeypatch.setattr(run, "_workloads", {"order": dataclasses.replace(order, cancel=None)})
    with pytest.raises(CommandError, match="--cancel-rate: the saga 'order' registers no cancellation"):
        call_command("bench_sagas", "--cancel-rate", "0.1", stdout=io.StringIO(), stderr=io.StringIO())
