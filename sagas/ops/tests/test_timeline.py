"""The timeline picture: one bar per step attempt, directions in their colours, failures marked."""

import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from sagas.models import Direction, SagaStepLog, StepStatus
from sagas.ops.timeline import COLOURS, format_duration, render_timeline
from sagas.participant import faults
from sagas.selectors import saga_audit_records, saga_step_logs
from sagas.testing import toy
from sagas.tests.admin_support import toy_row
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _bars(svg: str) -> list[str]:
    return re.findall(r'<rect class="bar [^"]*"[^>]*>', svg)


def test_a_compensated_saga_has_one_bar_per_attempt_and_its_failure_marked():
    saga = toy.booked(toy.LIMIT + 1)  # over the limit: check_limit refuses, book_units is compensated
    logs = saga_step_logs(saga)
    svg = render_timeline(logs, saga_audit_records(saga))
    bars = _bars(svg)
    assert len(bars) == len(logs) == 3
    assert [re.search(r'data-step="([^"]+)"', bar).group(1) for bar in bars] == [
        "book_units",
        "check_limit",
        "book_units",
    ]
    assert "failure" in bars[1] and "failure" not in bars[0] + bars[2]
    assert svg.count('class="failure-mark"') == 1
    assert f'fill="{COLOURS[Direction.FORWARD]}"' in bars[0]
    assert f'fill="{COLOURS[Direction.COMPENSATION]}"' in bars[2]


def test_each_retry_of_a_step_gets_its_own_bar():
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=2)
    faults.clear_cache()
    saga = toy.booked()
    svg = render_timeline(saga_step_logs(saga))
    checks = [bar for bar in _bars(svg) if 'data-step="check_limit"' in bar]
    assert [re.search(r'data-attempt="(\d+)"', bar).group(1) for bar in checks] == ["1", "2", "3"]
    assert svg.count('class="failure-mark"') == 2


def test_a_long_idle_gap_is_drawn_as_a_marked_break_not_as_empty_width():
    saga = toy_row()
    start = timezone.now() - timedelta(hours=3)
    logs = []
    for offset, status in (
        (timedelta(0), StepStatus.FAILED),
        (timedelta(hours=3, milliseconds=200), StepStatus.SUCCEEDED),
    ):
        logs.append(
            SagaStepLog.objects.create(
                saga=saga,
                step_name="charge_payment",
                direction=Direction.FORWARD,
                attempt=len(logs) + 1,
                status=status,
                started_at=start + offset,
                finished_at=start + offset + timedelta(milliseconds=200),
            )
        )
    svg = render_timeline(logs)
    widths = [float(re.search(r'width="([\d.]+)"', bar).group(1)) for bar in _bars(svg)]
    assert min(widths) > 50  # each 200 ms attempt stays visible
    assert 'class="gap"' in svg and "+3 h 0 m" in svg


def test_step_names_and_errors_are_escaped():
    saga = toy_row()
    now = timezone.now()
    log = SagaStepLog.objects.create(
        saga=saga,
        step_name="<script>",
        direction=Direction.FORWARD,
        attempt=1,
        status=StepStatus.FAILED,
        started_at=now,
        finished_at=now,
        error_message='"boom" & <b>',
    )
    svg = render_timeline([log])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_saga_that_has_not_started_says_so():
    assert "No step has run yet" in render_timeline([])


def _attempts_with_a_late_retry(first_seconds: float, idle: timedelta, last_ms: int) -> list[SagaStepLog]:
    """Three quick steps, the third failing, and its retry after `idle`, failing again: unsaved rows."""
    start = timezone.now() - idle - timedelta(seconds=first_seconds + 1)
    rows = [
        ("create_order", 1, StepStatus.SUCCEEDED, timedelta(0), timedelta(milliseconds=50)),
        ("reserve_stock", 1, StepStatus.SUCCEEDED, timedelta(milliseconds=50), timedelta(milliseconds=50)),
        ("charge_payment", 1, StepStatus.FAILED, timedelta(milliseconds=100), timedelta(seconds=first_seconds)),
        (
            "charge_payment",
            2,
            StepStatus.FAILED,
            timedelta(milliseconds=100, seconds=first_seconds) + idle,
            timedelta(milliseconds=last_ms),
        ),
    ]
    return [
        SagaStepLog(
            step_name=name,
            direction=Direction.FORWARD,
            attempt=attempt,
            status=status,
            started_at=start + offset,
            finished_at=start + offset + duration,
        )
        for name, attempt, status, offset, duration in rows
    ]


def _text_span(text) -> tuple[float, float]:
    # Digits and letters of a sans-serif font are at most about 0.6 of the font size wide.
    width = len(text.text) * float(text.get("font-size", 12)) * 0.6
    x = float(text.get("x"))
    left = {"start": x, "middle": x - width / 2, "end": x - width}[text.get("text-anchor")]
    return left, left + width


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.parametrize(
    ("first_seconds", "idle", "last_ms"),
    [(0.3, timedelta(seconds=90), 50), (10, timedelta(minutes=5), 20), (0.3, timedelta(hours=2), 300)],
    ids=["short-run-90s-gap", "long-run-tiny-retry", "two-hour-gap"],
)
def test_a_late_retry_is_drawn_clear_of_the_gap_marker_and_the_end_label(first_seconds, idle, last_ms):
    svg = str(render_timeline(_attempts_with_a_late_retry(first_seconds, idle, last_ms)))
    root = ElementTree.fromstring(svg)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    (band,) = root.findall(".//svg:rect[@fill='#e9e9e9']", ns)  # the gap marker's grey band
    band_span = (float(band.get("x")), float(band.get("x")) + float(band.get("width")))
    bars = root.findall("svg:rect[@data-step]", ns)
    last = bars[-1]
    last_span = (float(last.get("x")), float(last.get("x")) + float(last.get("width")))
    assert not _overlap(band_span, last_span), "the gap marker covers the last attempt's bar"
    marks = root.findall("svg:g[@class='failure-mark']", ns)
    assert len(marks) == 2
    for mark in marks:
        xs = [float(line.get(attr)) for line in mark for attr in ("x1", "x2")]
        assert not _overlap(band_span, (min(xs), max(xs))), "the gap marker covers a failure mark"
    axis_y = float(root.find("svg:line[@stroke='#999']", ns).get("y1"))
    under_axis = [t for t in root.iter(f"{{{ns['svg']}}}text") if float(t.get("y")) > axis_y]
    (gap_label,) = [t for t in under_axis if t.text.startswith("+")]
    assert gap_label.text == f"+{format_duration(idle)}"
    assert len(under_axis) == 3  # the start time, the total duration and the gap
    for other in [t for t in under_axis if t is not gap_label]:
        if other.get("y") == gap_label.get("y"):
            assert not _overlap(_text_span(gap_label), _text_span(other)), f"{gap_label.text} covers {other.text}"
    height = float(root.get("viewBox").split()[3])
    assert all(float(t.get("y")) + 4 <= height for t in under_axis)  # every line fits in the picture
