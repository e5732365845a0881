"""bench_sagas --compare-ref: two builds, each in its own fresh databases, alternately in one run."""

import io
import json
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from sagas.bench import compare


def worktrees() -> set[str]:
    """The paths of the repository's worktrees."""
    listed = subprocess.run(
        ["git", "-C", str(settings.BASE_DIR), "worktree", "list", "--porcelain"], capture_output=True, text=True
    ).stdout
    return {line for line in listed.splitlines() if line.startswith("worktree ")}


def side_databases() -> set[str]:
    """The PostgreSQL databases a comparison creates for its builds (none on SQLite)."""
    config = connections["default"].settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return set()
    import psycopg

    with psycopg.connect(
        host=config["HOST"] or "127.0.0.1", port=config["PORT"] or None, user=config["USER"] or None, dbname="postgres"
    ) as connection:
        names = connection.execute("SELECT datname FROM pg_database").fetchall()
    prefix = config["NAME"][:40]
    return {name for (name,) in names if name.startswith((f"{prefix}_old_", f"{prefix}_new_"))}


def test_an_unknown_ref_is_refused_by_name_before_anything_starts():
    before = worktrees()
    with pytest.raises(CommandError, match="Unknown git ref 'no-such-commit-anywhere'"):
        call_command(
            "bench_sagas", "--compare-ref", "no-such-commit-anywhere", stdout=io.StringIO(), stderr=io.StringIO()
        )
    assert worktrees() == before


def test_a_ref_that_reads_as_an_option_is_refused():
    with pytest.raises(CommandError, match="needs a git ref"):
        call_command("bench_sagas", "--compare-ref=--all", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_comparison_starts_each_build_s_own_cluster_so_external_is_refused():
    with pytest.raises(CommandError, match="cannot use --external"):
        call_command("bench_sagas", "--compare-ref", "HEAD", "--external", stdout=io.StringIO(), stderr=io.StringIO())


def test_an_option_one_build_lacks_is_left_out_of_both_and_named_unless_at_its_default():
    given = [
        compare.Argument("--sagas", ("200",), default=False),
        compare.Argument("--fail-rate", ("0",), default=True),
        compare.Argument("--cancel-rate", ("0.2",), default=False),
        compare.Argument("--contended", (), default=False),
        compare.Argument("--brand-new", ("0",), default=True),
    ]
    old = frozenset({"--sagas", "--fail-rate", "--contended"})
    new = frozenset({"--sagas", "--fail-rate", "--contended", "--cancel-rate", "--brand-new"})
    argv, dropped = compare.common_arguments(given, old, new)
    assert argv == ["--sagas", "200", "--fail-rate", "0", "--contended"]
    assert dropped == ["--cancel-rate 0.2"]


def test_a_build_too_old_for_json_is_read_from_its_printed_table():
    table = (
        "sagas          40 (orchestration, postgresql, orm broker, 2 workers, fail rate 0.0)\n"
        "throughput     41.5 sagas/s\n"
        "enqueue rate   263.6 sagas/s\n"
        "end-to-end     p50 293.8 ms  p95 471.4 ms  p99 483.6 ms\n"
        "execution      p50 20.5 ms  p99 76.7 ms\n"
        "commits/saga   n/a (PostgreSQL only)\n"
        "queries/saga   70.1 (counted over 20 sagas run inline)\n"
    )
    assert compare.parse_table(table) == {
        "sagas_per_second": 41.5,
        "e2e_p50_ms": 293.8,
        "exec_p50_ms": 20.5,
        "queries_per_saga": 70.1,
    }


def test_bench_flags_are_the_long_options_of_the_help_text():
    text = "usage: manage.py bench_sagas [-h] [--sagas SAGAS]\n  --one-by-one  Place each order (--not-this-one-but-ok)"
    assert compare.bench_flags(text) >= {"--sagas", "--one-by-one"}
    assert "-h" not in compare.bench_flags(text)


@pytest.mark.slow
def test_comparing_head_with_the_working_tree_runs_both_alternately_and_cleans_up(tmp_path: Path):
    before, databases = worktrees(), side_databases()
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "compare.json"
    call_command(
        "bench_sagas", "--compare-ref", "HEAD", "--sagas", "4", "--rounds", "2", "--json", str(target),
        stdout=out, stderr=err,
    )  # fmt: skip
    report = json.loads(target.read_text())
    text = out.getvalue()
    assert "throughput (sagas/s)" in text and "new/old" in text
    assert err.getvalue().index("round 1/2: old") < err.getvalue().index("round 1/2: new")
    assert err.getvalue().index("round 1/2: new") < err.getvalue().index("round 2/2: old")
    for side in ("old", "new"):
        assert len(report[side]["runs"]) == 2
        for run in report[side]["runs"]:
            assert run["outcomes"] == {"COMPLETED": 4}
            assert run["consistency_violations"] == 0
    old, new = report["old"]["medians"], report["new"]["medians"]
    assert report["ratios"]["sagas_per_second"] == round(new["sagas_per_second"] / old["sagas_per_second"], 3)
    assert report["ratios"]["e2e_p50_ms"] == round(new["e2e_p50_ms"] / old["e2e_p50_ms"], 3)
    assert report["arguments"][:2] == ["--sagas", "4"]
    assert worktrees() == before
    assert side_databases() == databases
