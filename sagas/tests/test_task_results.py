"""What a django-q2 task returns is pickled into its result row: plain text, never an engine type."""

import pytest

from sagas import tasks
from sagas.services import saga_start
from sagas.testing import toy

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_saga_task_returns_plain_text_that_names_where_the_saga_stopped():
    saga, _ = saga_start(toy.NAME, {"units": 2})
    result = tasks.run_saga(str(saga.pk))
    assert type(result) is str
    assert result
