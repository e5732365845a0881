"""What the engine keeps only for a while: the saved answers to API requests made with an Idempotency-Key.

A client repeats a request within seconds or minutes, not days, so an answer older than
IDEMPOTENCY_KEY_RETENTION_HOURS is deleted, and its key may then start a new request. The
recovery schedule (sagas.engine.schedules) runs the purge every minute, so each run deletes about a
minute's worth of rows; the batches keep the first run after a long pause from holding one
long transaction.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from sagas.models import IdempotentRequest

BATCH = 5000


def idempotent_requests_purge(*, before: datetime) -> int:
    """Delete the saved Idempotency-Key answers created before `before`; returns how many went."""
    deleted = 0
    while True:
        batch = list(IdempotentRequest.objects.filter(created_at__lt=before).values_list("pk", flat=True)[:BATCH])
        if not batch:
            return deleted
        count, _ = IdempotentRequest.objects.filter(pk__in=batch).delete()
        deleted += count


def purge_expired_idempotency_keys() -> int:
    """Purge the answers older than the retention period (IDEMPOTENCY_KEY_RETENTION_HOURS)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    return idempotent_requests_purge(before=cutoff)
