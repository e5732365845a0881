"""Every log line written while a saga runs names the saga, the step and the attempt."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from sagas.models import SagaInstance, SagaStatus
from sagas.ops.logging import JsonFormatter, SagaContextFilter, saga_log_context
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.cluster import WorkerCluster, wait_until
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory


def record(message: str = "hello", name: str = "payments.services", **extra) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.WARNING, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    return made


def filtered(made: logging.LogRecord) -> logging.LogRecord:
    SagaContextFilter().filter(made)
    return made


@pytest.fixture
def json_lines():
    """Lines written through a handler set up like the console one, with LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SagaContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_a_record_inside_a_saga_context_carries_saga_step_and_attempt():
    with saga_log_context("saga-1", "charge_payment", 2):
        made = filtered(record())
    assert (made.saga_id, made.step, made.attempt) == ("saga-1", "charge_payment", 2)


def test_a_record_outside_any_saga_reads_dashes():
    made = filtered(record())
    assert (made.saga_id, made.step, made.attempt) == ("-", "-", "-")


def test_leaving_a_step_context_restores_the_saga_context():
    with saga_log_context("saga-1"):
        with saga_log_context("saga-1", "reserve_stock", 1):
            pass
        made = filtered(record())
    assert (made.saga_id, made.step, made.attempt) == ("saga-1", "-", "-")


def test_values_passed_in_extra_win_over_the_context():
    with saga_log_context("saga-1", "charge_payment", 2):
        made = filtered(record(saga_id="saga-2"))
    assert made.saga_id == "saga-2" and made.step == "charge_payment"


def test_the_json_formatter_writes_one_object_per_line_with_extras_and_the_traceback():
    try:
        raise ValueError("card\nrefused")
    except ValueError:
        made = record("first line\nsecond line", order_id=__import__("uuid").UUID(int=7))
        made.exc_info = sys.exc_info()
    with saga_log_context("saga-1", "charge_payment", 3):
        line = JsonFormatter().format(filtered(made))
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["message"] == "first line\nsecond line"
    assert payload["logger"] == "payments.services" and payload["level"] == "WARNING"
    assert (payload["saga_id"], payload["step"], payload["attempt"]) == ("saga-1", "charge_payment", 3)
    assert payload["order_id"] == "00000000-0000-0000-0000-000000000007"
    assert "ValueError: card" in payload["exception"]


@pytest.mark.django_db(databases="__all__")
def test_a_failed_step_logged_by_the_engine_names_its_saga_step_and_attempt(json_lines):
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=1)
    saga, _ = saga_start(toy.NAME, {"units": 1})
    drain()
    lines = json_lines()
    failed = [line for line in lines if line["message"].startswith("step failed")]
    assert [(line["saga_id"], line["step"], line["attempt"]) for line in failed] == [(str(saga.pk), "check_limit", 1)]
    finished = [line for line in lines if line["message"] == "saga completed"]
    assert [line["saga_id"] for line in finished] == [str(saga.pk)]


def run_manage_shell(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


LOG_IN_A_STEP = (
    "import logging\n"
    "from sagas.ops.logging import saga_log_context\n"
    "with saga_log_context('saga-9', 'charge_payment', 2):\n"
    "    logging.getLogger('payments.services').warning('declined\\nby the bank')\n"
)


def test_outside_a_saga_the_json_fields_are_null():
    payload = json.loads(JsonFormatter().format(filtered(record())))
    assert (payload["saga_id"], payload["step"], payload["attempt"]) == (None, None, None)


def test_log_format_json_makes_a_management_command_write_json_lines():
    result = run_manage_shell(LOG_IN_A_STEP, LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert [(line["saga_id"], line["step"], line["attempt"], line["message"]) for line in lines] == [
        ("saga-9", "charge_payment", 2, "declined\nby the bank")
    ]


def test_the_default_text_format_shows_the_saga_context_in_brackets():
    result = run_manage_shell(LOG_IN_A_STEP, LOG_FORMAT="text")
    assert result.returncode == 0, result.stderr
    assert "WARNING payments.services [saga=saga-9 step=charge_payment attempt=2] declined" in result.stderr


@pytest.mark.slow
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_worker_cluster_with_log_format_json_writes_only_json_lines_naming_the_saga(tmp_path):
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=1)
    saga, _ = saga_start(toy.NAME, {"units": 1})
    log_path = tmp_path / "cluster.log"
    env = {"LOG_FORMAT": "json", "Q_LOG_LEVEL": "INFO", "SAGA_DEFINITION_MODULES": "sagas.testing.toy"}
    with WorkerCluster(workers=1, env=env, log_path=log_path):
        wait_until(
            lambda: SagaInstance.objects.get(pk=saga.pk).status == SagaStatus.COMPLETED,
            timeout=90,
            what="the saga to complete in the cluster",
        )
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert any(line["logger"] == "django-q" for line in lines), "django-q2's own lines go through the same handler"
    failed = [line for line in lines if line["message"].startswith("step failed")]
    assert [(line["saga_id"], line["step"], line["attempt"]) for line in failed] == [(str(saga.pk), "check_limit", 1)]
    assert any(line["message"] == "saga completed" and line["saga_id"] == str(saga.pk) for line in lines)
