"""Whatever each participant call does, the saga ends in a terminal state that keeps the invariants.

Hypothesis plans, per participant operation, one behaviour: success, a business refusal, a
transient error (before or after the effect, a number of times) or a worker crash (before
or after the effect, a number of times). A crash is a worker that claims the step, maybe
runs it, and dies without a checkpoint: its lease expires, and only the recovery sweep
brings the saga back. Every example starts from an empty world and runs in this process.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inventory.models import IdempotencyRecord as InventoryRecord
from inventory.models import Product, Reservation, StockMovement
from inventory.tests.factories import ProductFactory
from orders.models import IdempotencyRecord as OrderRecord
from orders.models import Order, OrderLine
from orders.placement import order_place
from orders.tests.support.effects import duplicate_effects
from payments.models import CustomerAccount, LedgerEntry, Payment, Refund
from payments.models import IdempotencyRecord as PaymentRecord
from payments.tests.factories import AccountFactory
from sagas.consistency import find_violations
from sagas.engine import runner
from sagas.engine.queue import RUN_SAGA
from sagas.engine.recovery import sweep
from sagas.models import Direction, FaultRule, SagaInstance, SagaStatus, SagaStepLog
from sagas.participant import faults
from sagas.tests.attempts import overlapping_attempts, unfinished_attempts

pytestmark = pytest.mark.django_db(databases="__all__")

F, C = Direction.FORWARD, Direction.COMPENSATION
# Each participant operation and the (step, direction) of the saga that calls it.
OPERATIONS = {
    "orders.order_create": ("create_order", F),
    "inventory.stock_reserve": ("reserve_stock", F),
    "payments.payment_charge": ("charge_payment", F),
    "orders.order_approve": ("approve_order", F),
    "inventory.reservation_commit": ("commit_stock", F),
    "orders.order_cancel": ("create_order", C),
    "inventory.reservation_release": ("reserve_stock", C),
    "payments.payment_refund": ("charge_payment", C),
}
PRICE = Decimal("25.00")
MAX_TASKS = 300

# (kind, phase, times, then refuse): a crash may be followed by the service refusing the retry.
behaviours = st.one_of(
    st.tuples(st.just("refuse"), st.just("before"), st.just(1), st.just(False)),
    st.tuples(st.just("transient"), st.sampled_from(["before", "after"]), st.integers(1, 6), st.just(False)),
    st.tuples(st.just("crash"), st.sampled_from(["before", "after"]), st.integers(1, 5), st.booleans()),
)
plans = st.dictionaries(st.sampled_from(sorted(OPERATIONS)), behaviours, max_size=4)


@dataclass
class Crash:
    operation: str
    phase: str
    remaining: int
    then_refuse: bool


def _empty_world() -> None:
    """Each example starts from nothing, so one example's outcome cannot leak into the next."""
    for model, alias in [
        (StockMovement, "inventory"),
        (Reservation, "inventory"),
        (InventoryRecord, "inventory"),
        (Product, "inventory"),
        (LedgerEntry, "payments"),
        (Refund, "payments"),
        (Payment, "payments"),
        (PaymentRecord, "payments"),
        (CustomerAccount, "payments"),
        (OrderLine, "orders"),
        (Order, "orders"),
        (OrderRecord, "orders"),
        (SagaStepLog, "default"),
        (SagaInstance, "default"),
        (FaultRule, "default"),
        (OrmQ, "default"),
    ]:
        model.objects.using(alias).all().delete()
    faults.clear_cache()


def _plant(plan: dict) -> dict[tuple[str, str], Crash]:
    """Fault rules for errors and refusals; crashes are returned for the worker to act out."""
    crashes = {}
    for operation, (kind, phase, times, then_refuse) in plan.items():
        if kind == "crash":
            crashes[OPERATIONS[operation]] = Crash(operation, phase, times, then_refuse)
        else:
            FaultRule.objects.create(
                operation=operation, phase=phase, mode="refuse" if kind == "refuse" else "transient", remaining=times
            )
    faults.clear_cache()
    return crashes


def _run_task(saga_id: str, crashes: dict[tuple[str, str], Crash]) -> None:
    """One worker task: claim, call, checkpoint, unless the plan says the worker dies here."""
    claim = runner.claim_next_step(saga_id, runner.new_worker_id())
    if claim is None:
        return
    crash = crashes.get((claim.step.name, claim.position.direction))
    if crash is not None and crash.remaining > 0:
        crash.remaining -= 1
        if crash.phase == "after":
            runner.execute_step(claim)
        # The worker is gone: no checkpoint, and its lease runs out.
        SagaInstance.objects.filter(pk=saga_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        if crash.remaining == 0 and crash.then_refuse:
            FaultRule.objects.create(operation=crash.operation, mode="refuse", remaining=1)
            faults.clear_cache()
        return
    runner.checkpoint_and_claim(claim, runner.execute_step(claim), keep_lease=False)


def _work(saga: SagaInstance, crashes: dict[tuple[str, str], Crash]) -> None:
    """Run queued tasks one step at a time; when the queue runs dry, let the recovery sweep look."""
    for _ in range(MAX_TASKS):
        row = OrmQ.objects.using("default").order_by("lock", "id").first()
        if row is None:
            saga.refresh_from_db()
            if saga.is_terminal:
                return
            report = sweep(idle_seconds=0)
            assert str(saga.pk) in report.saga_ids, f"the sweep missed a {saga.status} saga"
            continue
        task = SignedPackage.loads(row.payload)
        row.delete()
        # Time moves on: a retry waiting for its backoff is due now.
        SagaInstance.objects.filter(pk=task["args"][0], next_run_at__isnull=False).update(next_run_at=None)
        if task["func"] == RUN_SAGA:
            _run_task(task["args"][0], crashes)
        else:
            import_string(task["func"])(*task["args"], **task.get("kwargs", {}))
    raise AssertionError(f"the saga was still {saga.status} after {MAX_TASKS} tasks")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans, quantity=st.integers(1, 3), stock=st.integers(0, 4), funds=st.sampled_from(["40.00", "500.00"]))
# The pivot takes effect but its answer is lost until its attempts run out: it must not be undone.
@example(plan={"orders.order_approve": ("transient", "after", 5, False)}, quantity=1, stock=4, funds="500.00")
@example(plan={"orders.order_approve": ("crash", "after", 5, False)}, quantity=1, stock=4, funds="500.00")
@example(plan={"orders.order_approve": ("crash", "after", 1, True)}, quantity=1, stock=4, funds="500.00")
# A retry is refused after an attempt whose answer was lost had taken effect: that effect is undone too.
@example(plan={"inventory.stock_reserve": ("crash", "after", 1, True)}, quantity=1, stock=4, funds="500.00")
def test_any_mix_of_failures_and_crashes_ends_terminal_with_every_invariant_kept(plan, quantity, stock, funds):
    _empty_world()
    AccountFactory(customer="prop", balance=Decimal(funds))
    ProductFactory(sku="PROP-1", unit_price=PRICE, stock_on_hand=stock)
    crashes = _plant(plan)
    saga, _ = order_place(customer="prop", sku="PROP-1", quantity=quantity)

    _work(saga, crashes)

    saga.refresh_from_db()
    assert saga.is_terminal
    assert find_violations() == []
    assert duplicate_effects() == []
    assert unfinished_attempts() == []
    assert overlapping_attempts() == []
    if saga.status == SagaStatus.FAILED:
        assert saga.last_error, "a FAILED saga must say why"
    order = Order.objects.using("orders").filter(pk=saga.business_key).first()
    payments = list(Payment.objects.using("payments").filter(order_id=saga.business_key))
    if order is not None and order.status == Order.Status.APPROVED:
        # Past the pivot nothing is undone: the customer paid and the stock stays sold or held.
        assert saga.status != SagaStatus.COMPENSATED
        assert [p.status for p in payments] == [Payment.Status.CAPTURED]
        assert (
            not Reservation.objects.using("inventory")
            .filter(order_id=saga.business_key, status=Reservation.Status.RELEASED)
            .exists()
        )
    if not plan and stock >= quantity and Decimal(funds) >= PRICE * quantity:
        assert saga.status == SagaStatus.COMPLETED
