"""Run the worker cluster in the foreground, keep it working, and stop it the graceful way.

The cluster is django-q2's, started as `python -m sagas.workers.cluster`: it repairs a killed
worker by itself (django-q2 alone can stall for good when an idle worker is killed). This
command supervises it: when the cluster stalls (tasks ready past HEALTH_QUEUE_STALL_SECONDS
while it finishes too few of them), a worker died and was not replaced, its heartbeat stops
or its main process exits, it restarts the cluster (graceful stop, a grace period, SIGKILL to
its process group, a new cluster) and says why in one line. It also runs both recovery sweeps
every WORKER_SWEEP_SECONDS. The cluster dies with this command, even if this command is
killed with SIGKILL.

The cluster runs in a process group of its own, so a process manager that signals the whole
group of this command (honcho, systemd's default) does not cut steps off: a SIGTERM or SIGINT
to this command is passed to the cluster's main process only, which finishes (or hands back)
the steps in flight and exits. If it has not exited after --grace seconds, or on a second
signal, the whole cluster is killed; the engine's leases and the sweeps recover what it held.
"""

import contextlib
import signal
import subprocess
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sagas.management.help import command_help
from sagas.workers.supervisor import ClusterSupervisor, kill_group


class Command(BaseCommand):
    help = command_help(
        gettext_noop("Run the worker cluster in the foreground, keep it working, and stop it the graceful way."),
        __doc__,
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--grace",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help=_("How long the cluster may take to stop before it is killed (default 60)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        supervisor = ClusterSupervisor(stop_grace=options["grace"], say=self.stderr.write)
        supervisor.start()
        stop_asked: list[float] = []

        def on_signal(signum: int, _frame: Any) -> None:
            if stop_asked:  # asked twice: stop waiting
                kill_group(supervisor.pid)
                return
            stop_asked.append(time.monotonic())
            self.stderr.write(
                _("%(signal)s: stopping the worker cluster (pid %(pid)s)")
                % {"signal": signal.Signals(signum).name, "pid": supervisor.pid}
            )
            with contextlib.suppress(ProcessLookupError):
                supervisor.process.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        next_check = time.monotonic() + 1.0
        try:
            while True:
                cluster = supervisor.process
                if stop_asked:
                    if cluster.poll() is not None:
                        break
                    if time.monotonic() - stop_asked[0] > options["grace"]:
                        self.stderr.write(
                            _("the cluster did not stop within %(seconds)ss: killing it")
                            % {"seconds": f"{options['grace']:g}"}
                        )
                        kill_group(cluster.pid)
                elif time.monotonic() >= next_check:
                    supervisor.tick()
                    next_check = time.monotonic() + 1.0
                with contextlib.suppress(subprocess.TimeoutExpired):
                    supervisor.process.wait(0.2)
        finally:
            # Nothing of the cluster may outlive this command (a worker orphaned by a dead main process).
            kill_group(supervisor.pid)
        code = supervisor.process.returncode
        if code:
            raise SystemExit(code if code > 0 else 128 - code)
