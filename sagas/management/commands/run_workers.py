"""Run the worker cluster (manage.py qcluster) in the foreground and stop it the graceful way.

For process managers that stop their children by signalling the whole process group, as
honcho (`make run`) does: a SIGTERM to every process of django-q2's cluster kills the
workers in the middle of a step and can leave the main process hanging. Here the cluster
runs in a process group of its own; a SIGTERM or SIGINT to this command is passed to the
cluster's main process only, which finishes (or hands back) the steps in flight and exits.
If it has not exited after --grace seconds, or on a second signal, the whole cluster is
killed; the engine's leases and the recovery sweep then recover what it held.

Under systemd or supervisor run `manage.py qcluster` directly with the settings shown in the
README (KillMode=mixed; stopasgroup=false, killasgroup=true): they do the same job.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--grace",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="How long the cluster may take to stop before it is killed (default 60).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cluster = subprocess.Popen(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
            start_new_session=True,
        )
        stop_asked: list[float] = []

        def on_signal(signum: int, _frame: Any) -> None:
            if stop_asked:  # asked twice: stop waiting
                _kill_group(cluster.pid)
                return
            stop_asked.append(time.monotonic())
            self.stderr.write(f"{signal.Signals(signum).name}: stopping the worker cluster (pid {cluster.pid})")
            with contextlib.suppress(ProcessLookupError):
                os.kill(cluster.pid, signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            while cluster.poll() is None:
                if stop_asked and time.monotonic() - stop_asked[0] > options["grace"]:
                    self.stderr.write(f"the cluster did not stop within {options['grace']:g}s: killing it")
                    _kill_group(cluster.pid)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    cluster.wait(0.2)
        finally:
            # Nothing of the cluster may outlive this command (a worker orphaned by a dead main process).
            _kill_group(cluster.pid)
        if cluster.returncode:
            raise SystemExit(cluster.returncode if cluster.returncode > 0 else 128 - cluster.returncode)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
