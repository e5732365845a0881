"""Saved Idempotency-Key answers are purged by the every-minute recovery task once older than
IDEMPOTENCY_KEY_RETENTION_HOURS; fresh ones stay and still replay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sagas.models import IdempotentRequest
from sagas.tasks import recover_sagas

pytestmark = pytest.mark.django_db(databases="__all__")


def saved_answer(key: str, age: timedelta) -> IdempotentRequest:
    row = IdempotentRequest.objects.create(
        key=key,
        user_id=1,
        method="POST",
        path="/api/orders/",
        fingerprint="0" * 64,
        response_status=202,
        response_body={"id": key},
    )
    IdempotentRequest.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def test_the_recovery_task_purges_answers_past_the_retention_and_keeps_fresh_ones():
    saved_answer("day-and-a-bit", timedelta(hours=24, minutes=1))
    saved_answer("last-week", timedelta(days=7))
    saved_answer("an-hour-ago", timedelta(hours=1))
    saved_answer("just-now", timedelta(seconds=1))
    summary = recover_sagas()
    assert sorted(IdempotentRequest.objects.values_list("key", flat=True)) == ["an-hour-ago", "just-now"]
    assert "2 expired Idempotency-Key answer(s) purged" in summary


def test_the_retention_period_is_a_setting(settings):
    settings.IDEMPOTENCY_KEY_RETENTION_HOURS = 2
    saved_answer("three-hours-ago", timedelta(hours=3))
    saved_answer("an-hour-ago", timedelta(hours=1))
    recover_sagas()
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["an-hour-ago"]
    assert "purged" not in recover_sagas()
