"""The console's sections of django-q2 and django-axes read in Japanese, from the project's catalogue."""

import html
import re

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db(databases="__all__")

JAPANESE = {"HTTP_ACCEPT_LANGUAGE": "ja"}


def _text(page: bytes) -> str:
    """The page as a person reads it: tags and scripts gone, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page.decode(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def root(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_the_admin_index_names_the_worker_tasks_and_login_lockouts_in_japanese(root):
    text = _text(root.get(reverse("admin:index"), **JAPANESE).content)

    for japanese in ("ワーカーのタスク", "成功したタスク", "失敗したタスク", "予定タスク", "待機中のタスク"):
        assert japanese in text
    for japanese in ("ログインのロックアウト", "アクセス試行", "アクセス失敗", "アクセスログ"):
        assert japanese in text
    for english in ("Worker tasks", "Successful tasks", "Failed tasks", "Scheduled tasks", "Queued tasks", "Axes"):
        assert english not in text


def test_the_scheduled_task_list_shows_its_columns_in_japanese(root):
    text = _text(root.get(reverse("admin:django_q_schedule_changelist"), **JAPANESE).content)

    assert "予定の種類" in text
    assert "次回の実行" in text
    assert "Schedule Type" not in text


def test_the_access_attempt_list_shows_its_columns_in_japanese(root):
    AccessAttempt.objects.create(
        username="alice", ip_address="192.0.2.1", user_agent="curl", failures_since_start=1, attempt_time=timezone.now()
    )

    text = _text(root.get(reverse("admin:axes_accessattempt_changelist"), **JAPANESE).content)

    assert "IP アドレス" in text
    assert "ユーザーエージェント" in text
    assert "User Agent" not in text


def test_the_group_page_names_permissions_in_japanese(root):
    text = _text(root.get(reverse("admin:auth_group_add"), **JAPANESE).content)

    assert "サガ | サガ | 失敗したサガを再試行できる" in text
    assert "サガ | サガ | サガ を表示できる" in text
    assert "Can retry a failed saga" not in text
    assert "Can view" not in text


def test_a_login_record_is_named_in_japanese_with_its_zone(root):
    row = AccessLog.objects.create(username="alice", ip_address="192.0.2.1", user_agent="curl")

    text = _text(root.get(reverse("admin:axes_accesslog_change", args=[row.pk]), **JAPANESE).content)

    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC の alice のログイン", text)
    assert "Access Log for" not in text
