"""bench_sagas --compare-ref: the same benchmark on an older commit and on the working tree, in one run.

Throughput measured on a busy machine moves by a third from one run to the next, so "faster"
means something only as a ratio measured in one run. Here each side runs from its own tree (the
older commit checked out in a temporary git worktree, the working tree as it is, uncommitted
changes included) in its own freshly created and migrated databases, with the same Python, the
same environment and the same arguments, and the runs alternate: old, new, old, new, ... The
worktree and the databases are removed afterwards, whatever happened.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connections
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas.engine.connections import service_aliases
from sagas.testing.cluster import descendant_pids


class CompareError(Exception):
    """A comparison that cannot run or could not finish, with the reason a person reads."""


class Side(StrEnum):
    OLD = "old"
    NEW = "new"


@dataclass(frozen=True)
class Figure:
    key: str  # as bench_sagas's JSON names it
    label: Any  # lazily translated


# What the summary compares, when both sides report it: the ratio is always new / old.
FIGURES = (
    Figure("sagas_per_second", gettext_lazy("throughput (sagas/s)")),
    Figure("queries_per_saga", gettext_lazy("queries/saga")),
    Figure("commits_per_saga", gettext_lazy("commits/saga")),
    Figure("e2e_p50_ms", gettext_lazy("end-to-end p50 (ms)")),
    Figure("exec_p50_ms", gettext_lazy("execution p50 (ms)")),
    Figure("baseline_per_second", gettext_lazy("baseline (orders/s)")),
    Figure("ratio_to_baseline", gettext_lazy("ratio to baseline")),
    Figure("cancel_per_second", gettext_lazy("cancellations (sagas/s)")),
    Figure("cancel_queries_per_saga", gettext_lazy("cancellation queries/saga")),
    Figure("cancel_e2e_p50_ms", gettext_lazy("cancellation p50 (ms)")),
)

# bench_sagas's table, for a build too old to write JSON: label -> (JSON key, pattern of the value).
_TABLE = (
    ("throughput", "sagas_per_second", r"([\d.]+) sagas/s"),
    ("end-to-end", "e2e_p50_ms", r"p50 ([\d.]+) ms"),
    ("execution", "exec_p50_ms", r"p50 ([\d.]+) ms"),
    ("commits/saga", "commits_per_saga", r"^([\d.]+)"),
    ("queries/saga", "queries_per_saga", r"^([\d.]+)"),
    ("baseline", "baseline_per_second", r"([\d.]+) orders/s"),
)

_STOP_GRACE = (10, 30)  # seconds a build's command gets to stop on its own, then after an interrupt
_OUTPUT_TAIL = 25  # lines of a failed command's output quoted in the error


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-_OUTPUT_TAIL:])


def resolve_commit(repo: Path, ref: str) -> str:
    """The full commit id `ref` names in `repo`; CompareError when git knows no such commit."""
    if not ref.strip() or ref.startswith("-"):
        raise CompareError(
            _("--compare-ref needs a git ref such as a commit id, a tag or a branch, not %(ref)r.") % {"ref": ref}
        )
    found = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise CompareError(
            _("Unknown git ref %(ref)r: no commit in %(repo)s goes by that name.") % {"ref": ref, "repo": repo}
        )
    return found.stdout.strip()


def describe_working_tree(repo: Path) -> str:
    """The working tree in words: the commit it stands on, and whether it has uncommitted changes."""
    head = _git(repo, "rev-parse", "--short", "HEAD").stdout.strip() or "?"
    dirty = bool(_git(repo, "status", "--porcelain", "--untracked-files=no").stdout.strip())
    return (
        _("working tree at %(head)s with uncommitted changes") % {"head": head}
        if dirty
        else _("working tree at %(head)s") % {"head": head}
    )


@contextlib.contextmanager
def checkout(repo: Path, commit: str) -> Iterator[Path]:
    """`commit` checked out in a temporary git worktree, removed (with its registration) on exit."""
    parent = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    tree = parent / "tree"
    added = _git(repo, "worktree", "add", "--detach", str(tree), commit)
    if added.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise CompareError(
            _("git could not check out %(commit)s: %(error)s") % {"commit": commit, "error": _tail(added.stderr)}
        )
    try:
        yield tree
    finally:
        _git(repo, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)
        _git(repo, "worktree", "prune")


def _variable(alias: str) -> str:
    return "DATABASE_URL" if alias == "default" else f"{alias.upper()}_DATABASE_URL"


def _postgres_url(config: dict[str, Any], name: str) -> str:
    user = quote(config.get("USER") or "", safe="")
    password = f":{quote(str(config['PASSWORD']), safe='')}" if config.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    host = config.get("HOST") or "127.0.0.1"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{name}"


def _server(config: dict[str, Any]) -> Callable[[str], None]:
    """Run one statement on the server behind `config`, outside any database's transaction."""
    import psycopg

    def run(statement: Any) -> None:
        with psycopg.connect(
            host=config.get("HOST") or "127.0.0.1",
            port=config.get("PORT") or None,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(statement)

    return run


@contextlib.contextmanager
def fresh_databases(side: str) -> Iterator[dict[str, str]]:
    """Environment variables naming new, empty databases of the kind this process uses, dropped on exit.

    Every alias is named explicitly. On PostgreSQL each database this process uses gets a new one
    on the same server (aliases that share a database share its new one, in their own schemas);
    SQLite aliases get files in a new folder.
    """
    from psycopg import sql

    token = uuid.uuid4().hex[:6]
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{side}-"))
    created: list[tuple[Callable[[str], None], str]] = []
    names: dict[tuple, str] = {}
    env: dict[str, str] = {}
    try:
        for alias in ("default", *service_aliases()):
            config = connections[alias].settings_dict
            if config["ENGINE"].endswith("sqlite3"):
                env[_variable(alias)] = f"sqlite:///{folder / f'{alias}.sqlite3'}"
                continue
            key = (config.get("HOST"), config.get("PORT"), config.get("USER"), config["NAME"])
            if key not in names:
                name = f"{config['NAME'][:40]}_{side}_{token}"
                run = _server(config)
                run(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                created.append((run, name))
                names[key] = name
            env[_variable(alias)] = _postgres_url(config, names[key])
        yield env
    finally:
        for run, name in created:
            with contextlib.suppress(Exception):  # a failed drop must not hide what went wrong before it
                run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Build:
    """One side of the comparison: a tree of the project, its databases, and what its bench_sagas accepts."""

    side: Side
    name: str  # the commit, or the working tree, in words
    tree: Path
    env: dict[str, str]
    flags: frozenset[str] = frozenset()
    runs: list[dict[str, Any]] = field(default_factory=list)

    def manage(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        """`manage.py args` in this build's tree, on its databases; CompareError when it fails."""
        process = subprocess.Popen(
            [sys.executable, str(self.tree / "manage.py"), *args],
            cwd=self.tree,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _interrupt(process)
            raise CompareError(
                _("%(side)s build (%(name)s): manage.py %(command)s did not finish in %(seconds)d s.")
                % {"side": self.side, "name": self.name, "command": args[0], "seconds": timeout}
            ) from None
        except BaseException:
            _interrupt(process)
            raise
        result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        if result.returncode != 0:
            raise CompareError(
                _("%(side)s build (%(name)s): manage.py %(command)s failed:\n%(output)s")
                % {
                    "side": self.side,
                    "name": self.name,
                    "command": " ".join(args),
                    "output": _tail(result.stderr or result.stdout),
                }
            )
        return result

    def median(self, key: str) -> float | None:
        """The median of a figure over this build's runs, or None unless every run reported it."""
        values = [run.get(key) for run in self.runs]
        if not values or any(not isinstance(value, int | float) for value in values):
            return None
        return round(statistics.median(values), 3)


def _interrupt(process: subprocess.Popen) -> None:
    """Stop a build's command the way Ctrl-C does, so it stops the cluster it started; kill what is left.

    bench_sagas starts its cluster in a session of its own, which no signal to the command
    reaches. A Ctrl-C at the terminal has reached the command already, so it first gets a moment
    to stop on its own; then it is interrupted; whatever still runs after that is killed, its
    cluster included, before the databases under it are dropped.
    """
    below = descendant_pids(process.pid)
    for signal_number, seconds in ((None, _STOP_GRACE[0]), (signal.SIGINT, _STOP_GRACE[1])):
        if signal_number is not None and process.poll() is None:
            process.send_signal(signal_number)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=seconds)
            break
    else:
        process.kill()
        process.communicate()
    for pid in below:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """While it runs, SIGTERM ends the comparison like Ctrl-C does: the worktree and databases still go."""

    def stop(signal_number: int, frame: Any) -> None:
        raise SystemExit(128 + signal_number)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave SIGTERM as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def process_environment(databases: dict[str, str]) -> dict[str, str]:
    """This process's environment, pointed at `databases`; the tree's manage.py chooses its settings."""
    env = {**os.environ, **databases}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("PYTHONPATH", None)  # each tree imports its own code, never the other's
    return env


def prepare(build: Build) -> None:
    """Migrate the build's fresh databases with its own migrations, and learn its bench_sagas options."""
    for alias in ("default", *service_aliases()):
        build.manage("migrate", f"--database={alias}", "--verbosity=0", "--no-input")
    build.manage("createcachetable", "--database=default")
    build.flags = bench_flags(build.manage("bench_sagas", "--help", timeout=120).stdout)


def bench_flags(help_text: str) -> frozenset[str]:
    """The long options a bench_sagas --help lists."""
    return frozenset(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", help_text))


@dataclass(frozen=True)
class Argument:
    """One option of the benchmark as this run was given it, to pass on to both builds."""

    flag: str
    values: tuple[str, ...]
    default: bool  # the option's default in the working tree: leaving it out loses nothing worth saying

    def text(self) -> str:
        return " ".join([self.flag, *self.values])


def common_arguments(given: list[Argument], old: frozenset[str], new: frozenset[str]) -> tuple[list[str], list[str]]:
    """The arguments both builds run with, and those left out that were not at their default.

    An option one build does not know is left out of both, so both still run the same workload;
    every other option is passed explicitly, so a default that changed between builds changes nothing.
    """
    argv: list[str] = []
    dropped: list[str] = []
    for argument in given:
        if argument.flag in old and argument.flag in new:
            argv += [argument.flag, *argument.values]
        elif not argument.default:
            dropped.append(argument.text())
    return argv, dropped


def parse_table(text: str) -> dict[str, Any]:
    """The figures of bench_sagas's printed table (for a build that cannot write JSON)."""
    figures: dict[str, Any] = {}
    for line in text.splitlines():
        for label, key, pattern in _TABLE:
            if line.startswith(f"{label} ") and key not in figures:
                found = re.search(pattern, line[len(label) :].strip())
                if found:
                    figures[key] = float(found.group(1))
    return figures


def run_once(build: Build, argv: list[str], workdir: Path, number: int) -> dict[str, Any]:
    """One bench_sagas run of `build`; its figures, read from its JSON or else from its table."""
    path = workdir / f"{build.side}-{number}.json"
    extra = ["--json", str(path)] if "--json" in build.flags else []
    result = build.manage("bench_sagas", *argv, *extra)
    if path.exists():
        return json.loads(path.read_text())
    figures = parse_table(result.stdout)
    if "sagas_per_second" not in figures:
        raise CompareError(
            _("%(side)s build (%(name)s): bench_sagas printed no throughput:\n%(output)s")
            % {"side": build.side, "name": build.name, "output": _tail(result.stdout)}
        )
    return figures


@dataclass
class Comparison:
    old: Build
    new: Build
    rounds: int
    argv: list[str]
    dropped: list[str]

    def ratios(self) -> dict[str, float]:
        """new / old of every figure both builds reported in every run."""
        ratios = {}
        for figure in FIGURES:
            old, new = self.old.median(figure.key), self.new.median(figure.key)
            if old and new is not None:
                ratios[figure.key] = round(new / old, 3)
        return ratios

    def as_dict(self) -> dict[str, Any]:
        def side(build: Build) -> dict[str, Any]:
            medians = {figure.key: build.median(figure.key) for figure in FIGURES}
            return {
                "build": build.name,
                "runs": build.runs,
                "medians": {key: value for key, value in medians.items() if value is not None},
            }

        return {
            "rounds": self.rounds,
            "arguments": self.argv,
            "dropped": self.dropped,
            "old": side(self.old),
            "new": side(self.new),
            "ratios": self.ratios(),
        }


def project_repository(project: Path) -> tuple[Path, Path]:
    """The git repository holding `project`, and the project's folder inside it."""
    found = _git(project, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise CompareError(
            _("--compare-ref needs the project in a git repository; %(path)s is not in one.") % {"path": project}
        )
    repo = Path(found.stdout.strip())
    return repo, project.resolve().relative_to(repo.resolve())


def compare(
    project: Path,
    ref: str,
    given: list[Argument],
    rounds: int,
    report: Callable[[str], None],
) -> Comparison:
    """Run bench_sagas `rounds` times on each build, alternately, old first; `report` hears of each step."""
    repo, inside = project_repository(project)
    commit = resolve_commit(repo, ref)
    with (
        _terminate_as_exit(),
        checkout(repo, commit) as old_checkout,
        fresh_databases(Side.OLD) as old_databases,
        fresh_databases(Side.NEW) as new_databases,
        tempfile.TemporaryDirectory(prefix="bench-compare-runs-") as workdir,
    ):
        old_tree = old_checkout / inside
        if not (old_tree / "manage.py").is_file():
            raise CompareError(
                _("%(commit)s has no manage.py in %(folder)s.") % {"commit": commit[:10], "folder": inside}
            )
        old = Build(Side.OLD, f"{commit[:10]} ({ref})", old_tree, process_environment(old_databases))
        new = Build(Side.NEW, describe_working_tree(repo), project, process_environment(new_databases))
        for build in (old, new):
            report(
                _("migrating the %(side)s build's databases (%(name)s)...") % {"side": build.side, "name": build.name}
            )
            prepare(build)
        argv, dropped = common_arguments(given, old.flags, new.flags)
        for text in dropped:
            report(_("left out on both sides, one build has no such option: %(argument)s") % {"argument": text})
        for number in range(1, rounds + 1):
            for build in (old, new):
                report(
                    _("round %(number)d/%(rounds)d: %(side)s build...")
                    % {"number": number, "rounds": rounds, "side": build.side}
                )
                build.runs.append(run_once(build, argv, Path(workdir), number))
        return Comparison(old, new, rounds, argv, dropped)
