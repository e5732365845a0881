"""Building blocks for the admin tests: users with given permissions and sagas in given states."""

import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Permission, User
from django.utils import timezone

from sagas.models import SagaInstance, SagaStatus
from sagas.testing import toy


def staff_user(username: str, *codenames: str, superuser: bool = False, password: str | None = None) -> User:
    """A staff user who may view sagas and holds the given `sagas` permissions.

    Without a password the user can only be logged in with `force_login`, which skips the
    deliberately slow password hashing.
    """
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.com", password)
    user = User.objects.create_user(username, f"{username}@example.com", password, is_staff=True)
    wanted = ("view_sagainstance", *codenames)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="sagas", codename__in=wanted))
    return User.objects.get(pk=user.pk)  # fresh, without a stale permission cache


def saga_row(status: str = SagaStatus.FAILED, **fields: Any) -> SagaInstance:
    """A saga of the order definition in the given state, written directly for the admin to act on."""
    order_id = uuid.uuid4()
    now = timezone.now()
    values: dict[str, Any] = {
        "definition_name": "order",
        "definition_version": 1,
        "status": status,
        "direction": "FORWARD",
        "step_index": 2,
        "current_step": "charge_payment",
        "attempt": 3,
        "business_key": order_id,
        "party": "alice",
        "context": {
            "input": {
                "order_id": str(order_id),
                "customer": "alice",
                "sku": "WIDGET-1",
                "quantity": 1,
                "unit_price": "25.00",
                "total": "25.00",
            },
            "results": {},
        },
        "deadline_at": now + timedelta(minutes=5),
        "last_error": "charge_payment: InjectedTransientError: payments.payment_charge failed by a fault rule",
    }
    if status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED):
        values["finished_at"] = now
    values.update(fields)
    return SagaInstance.objects.create(**values)


def toy_row(status: str = SagaStatus.FAILED, units: int = 1, **fields: Any) -> SagaInstance:
    """A toy booking (sagas.testing.toy) in the given state, stopped at its check, written directly."""
    values: dict[str, Any] = {
        "definition_name": toy.NAME,
        "step_index": 1,
        "current_step": "check_limit",
        "business_key": None,
        "party": "",
        "context": {"input": {"units": units}, "results": {"book_units": {"booked": units}}},
        "last_error": "check_limit: InjectedTransientError: toy.check_limit failed by a fault rule",
    }
    values.update(fields)
    return saga_row(status, **values)
