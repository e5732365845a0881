"""The operator commands speak the active language (LANGUAGE_CODE) and name the zone of every time they print."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from sagas.management.commands.saga_status import Command as SagaStatusCommand
from sagas.models import SagaInstance, SagaStatus
from sagas.participant import faults
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.admin_support import saga_row
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def japanese(command: str, *args: str, **options) -> str:
    """What the command prints with Japanese active, as `LANGUAGE_CODE=ja manage.py ...` runs it."""
    out = io.StringIO()
    with translation.override("ja"):
        call_command(command, *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def tokyo(settings):
    settings.TIME_ZONE = "Asia/Tokyo"


@pytest.fixture
def compensated(db):
    """A booking over the limit: its check refused it and its booking was undone."""
    saga, _ = saga_start(toy.NAME, {"units": toy.LIMIT + 1})
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPENSATED
    return saga


@pytest.fixture
def running(db):
    """A booking waiting to retry its check after a transient error."""
    FaultRuleFactory(operation=toy.fault_point("check_limit"), mode="transient", remaining=1)
    saga, _ = saga_start(toy.NAME, {"units": 2})
    drain(fast_forward=False)
    faults.clear_cache()
    saga.refresh_from_db()
    assert (saga.status, saga.current_step) == (SagaStatus.RUNNING, "check_limit")
    return saga


def test_saga_status_labels_its_lines_and_step_log_in_japanese(compensated):
    out = japanese("saga_status", str(compensated.pk))

    assert "状態      補償済み" in out.splitlines()
    assert re.search(r"^  #  ステップ +方向 +試行  結果 +ミリ秒  詳細$", out, re.M)
    assert re.search(r"^  \d  check_limit +順方向 +1  拒否 ", out, re.M)
    assert "COMPENSATED" not in out


def test_saga_status_prints_its_times_in_the_sites_zone_and_names_it(compensated, tokyo):
    out = japanese("saga_status", str(compensated.pk))

    created = timezone.localtime(compensated.created_at, timezone.get_default_timezone())
    assert f"作成      {created:%Y-%m-%d %H:%M:%S}.{created.microsecond // 1000:03d} JST" in out.splitlines()
    assert re.search(r"^期限      \d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST$", out, re.M)
    assert "UTC" not in out


def test_saga_status_json_stays_english_codes_in_japanese(compensated):
    out = japanese("saga_status", str(compensated.pk), "--json")

    assert '"status": "COMPENSATED"' in out
    assert '"direction": "FORWARD"' in out


def test_recover_sagas_lists_and_summarises_in_japanese(db):
    idle = saga_row(SagaStatus.RUNNING)
    SagaInstance.objects.filter(pk=idle.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    out = japanese("recover_sagas", "--dry-run", "--older-than", "60")

    assert f"停止: {idle.pk}" in out.splitlines()
    summary = "サガ 1 件をキューに入れる予定: リース切れ 0 件、再試行の時刻到来 0 件、停止 (キュー投入の消失) 1 件"
    assert summary + "、期限超過 0 件" in out


def test_relay_outbox_counts_in_japanese(db):
    assert japanese("relay_outbox").strip() == "イベント 0 件を配信しました"


def test_relay_outbox_sweep_summarises_in_japanese(db):
    out = japanese("relay_outbox", "--sweep", "--dry-run")

    assert out.startswith("コレオグラフィの巡回の予定: イベント 0 件を中継")


def test_worker_health_says_healthy_in_japanese(db):
    out = japanese("worker_health")

    assert out.startswith("正常: ")
    assert "healthy" not in out


def test_retry_saga_dry_run_reports_in_japanese(db):
    down = FaultRuleFactory(operation=toy.fault_point("release_units"), mode="transient")
    saga = toy.booked(toy.LIMIT + 1)
    down.delete()
    faults.clear_cache()

    out = japanese("retry_saga", str(saga.pk), reason="障害が直った", dry_run=True)

    move = "失敗 book_units (補償) -> 補償中 book_units (補償)"
    assert f"ドライラン: サガ {saga.pk} に「再試行」を行うと {move} になります。" in out
    assert "FAILED" not in out


def test_resume_saga_reports_in_japanese(running):
    SagaInstance.objects.filter(pk=running.pk).update(next_run_at=timezone.now() + timedelta(hours=1))

    out = japanese("resume_saga", str(running.pk), reason="障害のあと止まった", actor="olga")

    assert "ワーカーのキューに入れました。" in out
    assert "監査記録: olga による" in out


def test_compensate_saga_asks_and_reports_in_japanese(running):
    out = japanese("compensate_saga", str(running.pk), reason="お客様から電話", actor="olga", yes=True)

    assert "-> 補償中" in out
    assert "COMPENSATING" not in out


def test_check_consistency_summary_in_japanese(db):
    assert "違反なし: " in japanese("check_consistency")


def test_check_consistency_violation_text_in_japanese_with_english_json(db):
    stuck = saga_row(SagaStatus.RUNNING, deadline_at=timezone.now() - timedelta(hours=2))
    SagaInstance.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=2))

    text, data = io.StringIO(), io.StringIO()
    with translation.override("ja"):
        with pytest.raises(SystemExit):  # exit code 1: a violation
            call_command("check_consistency", stdout=text)
        with pytest.raises(SystemExit):
            call_command("check_consistency", "--json", stdout=data)

    assert re.search(r"実行中 のまま期限を \d+ 秒過ぎ、有効なリースも予定された実行もありません", text.getvalue())
    assert re.search(
        r'"message": "RUNNING \d+s past its deadline with no live lease and nothing scheduled"', data.getvalue()
    )


def test_a_commands_help_says_what_it_does_in_japanese(db):
    with translation.override("ja"):
        text = SagaStatusCommand().create_parser("manage.py", "saga_status").format_help()

    assert "サガとその状態、すべてのステップの試行、補償、オペレーター操作を表示します。" in text
    assert "Show a saga" not in text


def test_a_commands_help_in_english_is_its_whole_manual(db):
    text = " ".join(SagaStatusCommand().create_parser("manage.py", "saga_status").format_help().split())

    assert "Show a saga, its status and every step attempt" in text
    assert "--json prints the stored codes" in text
