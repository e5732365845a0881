"""Building blocks for the admin tests: users with given permissions and sagas in given states."""

import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Permission, User
from django.utils import timezone

from orders.placement import order_place
from sagas.models import SagaInstance, SagaStatus
from sagas.participant import faults
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory


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


def placed(quantity: int = 2, customer: str = "alice", sku: str = "WIDGET-1") -> SagaInstance:
    """A saga run to its end through the real participants."""
    saga, _ = order_place(customer=customer, sku=sku, quantity=quantity)
    drain()
    saga.refresh_from_db()
    return saga


def refunded_saga() -> SagaInstance:
    """A saga that charged the customer, lost the answer each time, and so refunded and compensated."""
    FaultRuleFactory(operation="payments.payment_charge", phase="after", mode="transient")
    faults.clear_cache()
    saga = placed()
    assert saga.status == SagaStatus.COMPENSATED, saga.last_error
    return saga
