"""bench_sagas runs the workload the saga's app registered, found by the saga definition's name."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sagas.bench import run


def test_the_order_app_registers_the_workload_bench_sagas_runs_by_default():
    workload = run.run_workload()
    assert workload.definition_name == "order"
    assert run.run_workload("order") is workload
    assert workload.baseline_task == "orders.bench.baseline_order"


def test_an_unknown_saga_or_an_ambiguous_default_is_refused_with_its_reason(monkeypatch):
    order = run.run_workload("order")
    with pytest.raises(LookupError, match="No app registered a bench workload for the saga 'refund'"):
        run.run_workload("refund")
    monkeypatch.setattr(run, "_workloads", {"order": order, "refund": order})
    with pytest.raises(LookupError, match=r"Name the saga to measure: .* registered: order, refund"):
        run.run_workload()


def test_bench_sagas_without_a_registered_workload_stops_before_starting_anything(monkeypatch):
    monkeypatch.setattr(run, "_workloads", {})
    with pytest.raises(CommandError, match="registered: none"):
        call_command("bench_sagas", "--sagas", "1", stdout=io.StringIO(), stderr=io.StringIO())
