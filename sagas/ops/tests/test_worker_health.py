"""worker_health: healthy while tasks get taken or steps finish, stalled (exit 1) when neither happens."""

import io
import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import OrmQ

from sagas.engine.queue import enqueue_saga
from sagas.models import SagaStepLog
from sagas.services import saga_start
from sagas.testing import toy

pytestmark = pytest.mark.django_db(databases="__all__")


def health(*args):
    """(exit code, output) of manage.py worker_health."""
    out = io.StringIO()
    try:
        call_command("worker_health", *args, stdout=out)
    except SystemExit as exit_info:
        return exit_info.code, out.getvalue()
    return 0, out.getvalue()


def queue_row(seconds_ago: float) -> None:
    """A task that became free to take `seconds_ago` (negative: held by a worker for a while yet)."""
    enqueue_saga(uuid.uuid4())
    newest = OrmQ.objects.order_by("-id").first()
    OrmQ.objects.filter(pk=newest.pk).update(lock=timezone.now() - timedelta(seconds=seconds_ago))


def steps_last_finished(seconds_ago: float) -> None:
    SagaStepLog.objects.update(finished_at=timezone.now() - timedelta(seconds=seconds_ago))


@pytest.fixture
def finished_saga(db):
    toy.booked()


def test_an_empty_queue_is_healthy(db):
    code, out = health()
    assert code == 0
    assert "healthy: no task has waited more than 120s to be taken" in out


def test_a_task_claimable_past_the_window_with_no_step_finished_is_stalled(finished_saga):
    steps_last_finished(600)
    queue_row(300)
    code, out = health()
    assert code == 1
    assert "STALLED: 1 task(s) claimable for more than 120s (oldest 300s)" in out
    assert "no step finished in that window (last finished 600s ago)" in out


def test_a_backlog_is_healthy_while_steps_keep_finishing(finished_saga):
    steps_last_finished(10)
    queue_row(300)
    code, out = health()
    assert code == 0
    assert "busy, not stalled" in out


def test_tasks_held_by_workers_or_waiting_less_than_the_window_are_not_a_stall(finished_saga):
    steps_last_finished(600)
    queue_row(-200)  # claimed: its lock runs into the future
    queue_row(60)
    assert health()[0] == 0


def test_the_window_is_set_with_stall_seconds(finished_saga):
    steps_last_finished(600)
    queue_row(60)
    assert health()[0] == 0
    assert health("--stall-seconds", "30")[0] == 1


def test_operator_actions_do_not_count_as_worker_progress(finished_saga):
    steps_last_finished(600)
    saga = saga_start(toy.NAME, {"units": 1})[0]
    OrmQ.objects.update(lock=timezone.now() - timedelta(seconds=300))
    call_command("resume_saga", str(saga.pk), reason="poke", stdout=io.StringIO())
    OrmQ.objects.update(lock=timezone.now() - timedelta(seconds=300))
    assert health()[0] == 1


def test_json_output_carries_the_figures(finished_saga):
    steps_last_finished(600)
    queue_row(300)
    code, out = health("--json")
    report = json.loads(out)
    assert code == 1
    assert (report["healthy"], report["waiting_tasks"], report["stall_seconds"]) == (False, 1, 120)


def test_one_stragglers_finish_does_not_make_a_growing_backlog_healthy(finished_saga):
    """A frozen worker that resumed finishes its one step while the other worker takes nothing."""
    steps_last_finished(600)
    straggler = SagaStepLog.objects.order_by("-id").first()
    SagaStepLog.objects.filter(pk=straggler.pk).update(finished_at=timezone.now() - timedelta(seconds=5))
    for _ in range(5):
        queue_row(300)
    code, out = health()
    assert code == 1
    assert "STALLED: 5 task(s) claimable for more than 120s (oldest 300s)" in out
    assert "only 1 step(s) finished in that window for 2 worker(s)" in out
