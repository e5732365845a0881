"""On PostgreSQL, invariants 11 and 12 first name the sagas that may break them, then check only those.

The first pass tells repeats apart by a 6-bit hash of each step and direction: two different
steps that share a hash make a clean saga a suspect, and the exact check must clear it.
"""

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from sagas import consistency
from sagas.consistency import find_violations
from sagas.models import Direction, StepStatus
from sagas.services import saga_start
from sagas.testing import toy
from sagas.testing.drain import drain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases="__all__")]


def _colliding_step_names() -> tuple[str, str]:
    """Two step names whose forward attempts fall on the same bit of the first pass's hash."""
    seen: dict[int, str] = {}
    with connections["default"].cursor() as cursor:
        for n in range(65):
            name = f"step_{n}"
            cursor.execute("SELECT hashtext(%s || ' ' || %s) & 63", [name, Direction.FORWARD.value])
            (bit,) = cursor.fetchone()
            if bit in seen:
                return seen[bit], name
            seen[bit] = name
    raise AssertionError("65 names over 64 bits always collide")


def test_a_clean_saga_suspected_only_by_a_hash_collision_is_cleared_by_the_exact_check():
    saga, _ = saga_start(toy.NAME, {"units": 1})
    drain()
    saga.steps.all().delete()
    start = timezone.now()
    for offset, name in enumerate(_colliding_step_names()):
        began = start + timedelta(seconds=offset)
        saga.steps.create(
            step_name=name,
            direction=Direction.FORWARD,
            status=StepStatus.SUCCEEDED,
            attempt=1,
            started_at=began,
            finished_at=began + timedelta(milliseconds=10),
        )

    assert saga.pk in consistency._suspect_sagas()
    assert [v for v in find_violations() if v.invariant in (11, 12)] == []
