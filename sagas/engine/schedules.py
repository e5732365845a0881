"""The django-q2 schedule that runs the recovery sweep every minute, cluster-wide.

Its task (sagas.tasks.recover_sagas) also purges the API's Idempotency-Key answers older than
IDEMPOTENCY_KEY_RETENTION_HOURS (sagas.engine.retention).

A schedule row lives in the database every cluster shares, and django-q2's scheduler locks
due rows (select_for_update) before enqueueing, so the sweep runs once a minute for the
whole deployment, not once per worker or per host. The sweep only enqueues sagas and a run
of a saga that needs nothing is a no-op, so two sweeps that overlap (a slow one still going
when the next starts) do no harm: no lock between them is needed.
"""

from typing import Any

from django.utils import timezone

RECOVERY_SCHEDULE_NAME = "saga-recovery"
RECOVERY_FUNC = "sagas.tasks.recover_sagas"


def install_recovery_schedule(schedule_model: Any = None, using: str = "default") -> Any:
    """Create or correct the recovery schedule; running it again leaves exactly one row.

    `schedule_model` is django-q2's Schedule, or its historical version in a migration.
    """
    if schedule_model is None:
        from django_q.models import Schedule as schedule_model
    manager = schedule_model.objects.using(using)
    rows = list(manager.filter(name=RECOVERY_SCHEDULE_NAME).order_by("pk"))
    # The name is not unique in the database; a second copy would only sweep twice as often.
    for extra in rows[1:]:
        extra.delete()
    fields = {
        "func": RECOVERY_FUNC,
        "args": None,
        "kwargs": None,
        "hook": None,
        "schedule_type": "I",  # Schedule.MINUTES
        "minutes": 1,
        "repeats": -1,  # for ever
        "cluster": None,  # any cluster under the default name picks it up
    }
    if rows:
        manager.filter(pk=rows[0].pk).update(**fields)
        return manager.get(pk=rows[0].pk)
    return manager.create(name=RECOVERY_SCHEDULE_NAME, next_run=timezone.now(), **fields)
