"""The timeline picture: one bar per step attempt, directions in their colours, failures marked."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from sagaproject import faults
from sagas.models import Direction, SagaStepLog, StepStatus
from sagas.selectors import saga_audit_records, saga_step_logs
from sagas.tests.admin_support import placed, saga_row
from sagas.tests.factories import FaultRuleFactory
from sagas.timeline import COLOURS, render_timeline

pytestmark = pytest.mark.django_db(databases="__all__")


def _bars(svg: str) -> list[str]:
    return re.findall(r'<rect class="bar [^"]*"[^>]*>', svg)


def test_a_compensated_saga_has_one_bar_per_attempt_and_its_failure_marked(shop):
    saga = placed(quantity=11)  # out of stock: reserve_stock refuses, create_order is compensated
    logs = saga_step_logs(saga)
    svg = render_timeline(logs, saga_audit_records(saga))
    bars = _bars(svg)
    assert len(bars) == len(logs) == 3
    assert [re.search(r'data-step="([^"]+)"', bar).group(1) for bar in bars] == [
        "create_order",
        "reserve_stock",
        "create_order",
    ]
    assert "failure" in bars[1] and "failure" not in bars[0] + bars[2]
    assert svg.count('class="failure-mark"') == 1
    assert f'fill="{COLOURS[Direction.FORWARD]}"' in bars[0]
    assert f'fill="{COLOURS[Direction.COMPENSATION]}"' in bars[2]


def test_each_retry_of_a_step_gets_its_own_bar(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=2)
    faults.clear_cache()
    saga = placed()
    svg = render_timeline(saga_step_logs(saga))
    charges = [bar for bar in _bars(svg) if 'data-step="charge_payment"' in bar]
    assert [re.search(r'data-attempt="(\d+)"', bar).group(1) for bar in charges] == ["1", "2", "3"]
    assert svg.count('class="failure-mark"') == 2


def test_a_long_idle_gap_is_drawn_as_a_marked_break_not_as_empty_width():
    saga = saga_row()
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
    saga = saga_row()
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
