"""The idempotency helpers' signatures keep easily swapped names apart."""

import pytest

from sagas.models import IdempotentRequest
from sagas.participant.idempotency import compensate_once


def test_compensate_once_refuses_its_operation_names_by_position():
    """The compensation's key and name and the action's look alike; passed by position they could swap unseen."""
    with pytest.raises(TypeError, match="positional"):
        # The record model is never reached: the call is refused before it runs.
        compensate_once(IdempotentRequest, "default", "undo-key", "do-key", "thing_undo", "thing_do", dict)
