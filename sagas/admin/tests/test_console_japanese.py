"""The operations console and the staff API in Japanese, chosen by the browser's Accept-Language."""

import html
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from sagas.engine import notes
from sagas.models import SagaStatus
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain
from sagas.tests.admin_support import staff_user, toy_row
from sagas.tests.api_helpers import make_user, token_client

pytestmark = pytest.mark.django_db(databases="__all__")

JAPANESE = {"HTTP_ACCEPT_LANGUAGE": "ja"}


def _text(page: str) -> str:
    """The page as a person reads it: tags and scripts gone, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(autouse=True)
def _english_afterwards():
    """A request leaves its language active in the thread: later tests expect the settings' language."""
    yield
    translation.deactivate()


@pytest.fixture
def root(client):
    client.force_login(staff_user("root", superuser=True))
    return client


def test_the_overview_reads_in_japanese(root):
    toy_row(SagaStatus.FAILED)

    response = root.get(reverse("admin:sagas_overview"), **JAPANESE)

    text = _text(response.content.decode())
    assert response.status_code == 200
    assert "サガの概況" in text
    assert "現在の状態別サガ数" in text
    assert "失敗 1" in text  # the status by its Japanese name, with its count
    assert "停滞中のサガ (進行中で、リース切れまたは期限超過)" in text
    assert "Sagas by status now" not in text


def test_a_saga_page_shows_its_timeline_legend_step_log_and_actions_in_japanese(root):
    saga, _ = saga_start(toy.NAME, {"units": toy.LIMIT + 1})
    drain()

    response = root.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk]), **JAPANESE)

    page = response.content.decode()
    text = _text(page)
    assert response.status_code == 200
    legend = re.search(r'<svg[^>]*class="saga-timeline".*?</svg>', page, re.S).group(0)
    for label in ("順方向ステップ", "補償", "失敗した試行", "オペレーター操作"):
        assert f">{label}<" in legend
    assert "ステップログ" in text
    assert re.search(r"book_units 順方向 1 成功 .* check_limit 順方向 1 拒否 \(業務上\)", text)
    assert "ステータス: 補償済み" in text
    # A finished saga offers no action: each is greyed out and says why in Japanese.
    actions = re.search(r'<div class="saga-actions".*?</div>\s*</div>', page, re.S).group(0)
    assert ">今すぐ補償<" in actions
    assert "現在は実行できません: 状態が「補償済み」のサガは補償できません。" in html.unescape(actions)
    assert "Step log" not in text


def test_the_compensate_confirmation_says_what_will_happen_in_japanese(root):
    saga = toy_row(SagaStatus.FAILED)

    response = root.get(reverse("admin:sagas_sagainstance_operate", args=[saga.pk, "compensate"]), **JAPANESE)

    text = _text(response.content.decode())
    assert response.status_code == 200
    assert "実行される内容:" in text
    assert "サガを現在の位置で止めます。" in text
    assert "次の補償がこの順に実行されます。" in text
    assert re.search(r"最大 \d+ 回試行", text)
    assert 'value="補償"' in response.content.decode()
    assert "今すぐ補償: よろしいですか?" in text
    assert "理由:" in text


def test_a_refused_action_says_why_in_japanese(root):
    saga = toy_row(SagaStatus.COMPLETED, current_step="", last_error="")

    response = root.get(reverse("admin:sagas_sagainstance_operate", args=[saga.pk, "retry"]), **JAPANESE)

    text = _text(response.content.decode())
    assert "この操作は拒否されます: 再試行できるのは「失敗」のサガだけです。このサガの状態は「完了」です。" in text


def test_a_staff_api_refusal_has_a_japanese_detail_and_its_english_code():
    cache.clear()  # the API's throttles count in the cache
    api = token_client(make_user("operator", staff=True, perms=("view_sagainstance", "retry_saga")))
    saga = toy.booked(1)

    response = api.post(f"/api/sagas/{saga.pk}/retry/", {"reason": "again"}, format="json", **JAPANESE)

    assert response.status_code == 409
    assert response.json()["detail"] == "再試行できるのは「失敗」のサガだけです。このサガの状態は「完了」です。"
    assert response.data["detail"].code == "action_not_allowed"


def test_the_engines_note_in_a_last_error_reads_in_japanese_on_the_saga_page(root):
    note = notes.DEADLINE_PASSED % {"time": "2026-11-29 17:04:05"}
    saga = toy_row(SagaStatus.FAILED, last_error=note)

    response = root.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk]), **JAPANESE)

    text = _text(response.content.decode())
    assert "サガが終わる前に期限 2026-11-29 17:04:05 UTC を過ぎました。" in text
    assert note not in text
