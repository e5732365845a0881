"""The console's remaining words in Japanese: the fault banner, the saga type, the staff API's parse error."""

import html
import re
import zoneinfo
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.exceptions import Throttled

from sagas.api.toolkit.errors import api_exception_handler
from sagas.engine import notes
from sagas.models import FaultRule, SagaStatus
from sagas.testing import toy
from sagas.tests.admin_support import staff_user, toy_row
from sagas.tests.api_helpers import make_user, token_client

pytestmark = pytest.mark.django_db(databases="__all__")

JAPANESE = {"HTTP_ACCEPT_LANGUAGE": "ja"}


def _text(page: bytes) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page.decode(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(autouse=True)
def _english_afterwards():
    yield
    translation.deactivate()


@pytest.fixture
def root(client, settings):
    settings.FAULT_INJECTION = True
    client.force_login(staff_user("root", superuser=True))
    return client


def test_the_fault_banner_names_each_rules_phase_and_mode_in_japanese(root):
    FaultRule.objects.create(operation=toy.fault_point("check_limit"), phase="after", mode="hang")

    text = _text(root.get(reverse("admin:index"), **JAPANESE).content)

    with translation.override("ja"):
        phase, mode = str(FaultRule.Phase.AFTER.label), str(FaultRule.Mode.HANG.label)
    assert f"{toy.fault_point('check_limit')} ({phase}) → {mode}" in text
    assert "after → hang" not in text


def test_the_fault_banner_leaves_out_a_rule_that_has_fired_its_last_time(root):
    FaultRule.objects.create(operation=toy.fault_point("check_limit"), mode="refuse", remaining=0)

    page = root.get(reverse("admin:index"), **JAPANESE).content.decode()

    assert 'class="fault-banner"' not in page


def test_the_saga_list_names_the_saga_type_by_its_title(root):
    toy_row(SagaStatus.FAILED)

    text = _text(root.get(reverse("admin:sagas_sagainstance_changelist"), **JAPANESE).content)

    with translation.override("ja"):
        title = str(toy.TOY_SAGA.title)
    assert title in text
    assert f"{toy.NAME} " not in text


def test_the_staff_api_refuses_a_malformed_json_body_in_japanese():
    cache.clear()  # the API's throttles count in the cache
    saga = toy_row(SagaStatus.FAILED)
    client = token_client(make_user("ops", staff=True, perms=("view_sagainstance", "retry_saga")))

    response = client.post(
        f"/api/sagas/{saga.pk}/retry/",
        data="{oops",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="ja",
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "リクエストの本文が正しい JSON ではありません。"


def test_the_overview_chart_counts_the_viewers_hours_and_names_their_zone(root, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    finished = timezone.now() - timedelta(hours=1)
    toy_row(SagaStatus.COMPLETED, finished_at=finished)

    text = root.get(reverse("admin:sagas_overview"), **JAPANESE).content.decode()

    hour = timezone.localtime(finished, zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%H:00")

    assert "1 時間ごとの終了数、直近 24 時間 (JST)" in html.unescape(text)
    assert f"<title>{hour} JST: 1 " in text


def test_a_failed_choreography_delivery_reads_in_japanese():
    stored = "payments.charge_payment on stock-reserved: InsufficientFunds: Insufficient funds."

    with translation.override("ja"):
        shown = notes.note_in_language(stored)

    assert shown.startswith("stock-reserved を")
    assert "payments.charge_payment: InsufficientFunds: " in shown
    assert " on " not in shown


def test_the_overview_chart_writes_its_hours_the_japanese_way(root):
    text = root.get(reverse("admin:sagas_overview"), **JAPANESE).content.decode()

    assert re.search(r">\d\d時</text>", text)
    assert not re.search(r">\d\dh</text>", text)


def test_the_search_box_magnifier_is_described_in_japanese(root):
    page = root.get(reverse("admin:sagas_sagainstance_changelist"), **JAPANESE).content.decode()

    assert 'alt="検索"' in page
    assert 'alt="Search"' not in page


def test_a_fault_rule_with_a_probability_above_one_is_refused_in_japanese(root):
    response = root.post(
        reverse("admin:sagas_faultrule_add"),
        {
            "operation": toy.fault_point("check_limit"),
            "phase": "before",
            "mode": "refuse",
            "probability": "2",
            "delay_seconds": "0",
            "enabled": "on",
        },
        **JAPANESE,
    )

    assert "確率は呼び出し 1 回ごとの発生確率で、0 から 1 の間で指定します。" in response.content.decode()


def test_a_throttled_answer_runs_its_two_japanese_sentences_together():
    with translation.override("ja"):
        response = api_exception_handler(Throttled(wait=5), {})

    assert response.data["detail"] == "リクエストの処理は絞られました。あと 5 秒で利用できる見込みです。"
