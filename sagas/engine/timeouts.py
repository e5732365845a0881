"""Bounding a step call by its timeout without blocking the worker beyond it.

In a worker's main thread the bound is a SIGALRM timer, which interrupts Python code and
psycopg's waits; django-q2's own task alarm is saved and re-armed afterwards. Elsewhere
(a thread) no signal can be used, so the call runs unbounded and only the lease protects.
"""

import signal
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sagas.engine import notes

T = TypeVar("T")


class StepTimeout(Exception):
    """The step ran past its timeout: its outcome is unknown."""


def call_with_timeout(fn: Callable[[], T], seconds: float) -> T:
    """Run fn(); raise StepTimeout if it is still running after `seconds`."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        return fn()

    def on_alarm(signum: int, frame: object) -> None:
        raise StepTimeout(notes.STEP_TIMED_OUT % {"seconds": f"{seconds:g}"})

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:
            remaining = previous_delay - (time.monotonic() - started)
            # An outer alarm that fell due meanwhile fires at once rather than never.
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001))
