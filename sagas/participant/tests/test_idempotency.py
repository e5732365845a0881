"""The idempotency helpers' signatures keep easily swapped names apart."""

import pytest

from payments.models import IdempotencyRecord
from sagas.participant.idempotency import compensate_once


def test_compensate_once_refuses_its_operation_names_by_position():
    """The compensation's key and name and the action's look alike; passed by position they could swap unseen."""
    with pytest.raises(TypeError, match="positional"):
        compensate_once(
            IdempotencyRecord, "payments", "refund-key", "charge-key", "payment_refund", "payment_charge", dict
        )
