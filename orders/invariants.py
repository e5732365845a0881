"""The order saga's invariants, registered with the engine for `check_consistency`.

Everything is set-based, so a million sagas cost a handful of queries, not a million:

- invariants 1, 2, 7 and the per-order part of 6 read five streams ordered by order id
  (placement sagas, cancellation sagas, orders with their lines, payments with their refunds,
  reservations), fetched in chunks, and walk them side by side in one pass (a merge join in
  Python, because no join may cross two aliases); memory stays flat however many sagas there
  are;
- invariants 3 and 4 are one statement per participant (per account, per product), so each
  is read from a single snapshot and money or stock in flight cannot look lost;
- the rest of 6 are single grouped queries that return only the offending rows.

The checks look at saga status and order id only, so they hold for orchestrated and
choreographed sagas alike. An order has up to two kinds of saga, both keyed by its id: the
placement ("order") and, once confirmed, the cancellation ("order_cancellation",
orders/cancellation_saga.py). While a cancellation runs the order is in flux and only its
duplicates are checked; once one completed, invariant 7 replaces invariant 1.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import CharField, Count, DecimalField, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from inventory.models import Product, Reservation, StockMovement
from orders.cancellation_saga import ORDER_CANCELLATION_SAGA
from orders.models import Order
from orders.saga import ORDER_SAGA
from payments.models import CustomerAccount, LedgerEntry, Payment, Refund
from sagas.engine.invariants import CheckContext, Violation, read_ahead, run_parts
from sagas.models import SagaInstance, SagaStatus
from sagas.participant.customers import customer_name
from sagas.participant.money import to_money

CHUNK_SIZE = 5000

# Shown by check_consistency in the reader's language, like the engine's own.
TITLES = {
    1: gettext_lazy("a completed saga has an approved order, one captured payment of its total, and committed stock"),
    2: gettext_lazy("a compensated saga has a cancelled (or no) order, its money back, and no stock held"),
    3: gettext_lazy(
        "money is conserved across placements and cancellations: balances plus captured payments equal deposits, "
        "and refunds equal their ledger entries"
    ),
    4: gettext_lazy(
        "stock is conserved across placements and cancellations: on hand plus active and committed reservations "
        "equal receipts"
    ),
    6: gettext_lazy("no idempotency key has more than one effect"),
    7: gettext_lazy(
        "a cancelled order has what was captured refunded in full, once, and its committed stock back on the shelf"
    ),
}


def order_violations(context: CheckContext) -> Iterator[Violation]:
    """Every violation of the order sagas' invariants (1, 2, 3, 4, 6 and 7).

    The four checks read different tables and share nothing, so they run at once (run_parts).
    """
    yield from run_parts([_check_orders, _check_money, _check_stock, _check_duplicate_effects])


# --- invariants 1, 2 and 6 per order: a merge join of ordered streams -------------------------


# Plain strings: compared a few million times, they beat the TextChoices members.
_COMPLETED, _COMPENSATED = SagaStatus.COMPLETED.value, SagaStatus.COMPENSATED.value
_APPROVED, _CANCELLED = Order.Status.APPROVED.value, Order.Status.CANCELLED.value
_CAPTURED, _REFUNDED = Payment.Status.CAPTURED.value, Payment.Status.REFUNDED.value
_COMMITTED, _RETURNED = Reservation.Status.COMMITTED.value, Reservation.Status.RETURNED.value
_HELD = {Reservation.Status.ACTIVE.value, _COMMITTED}


def _rows_by_order(queryset: QuerySet, key: str, *fields: str) -> Iterator[tuple]:
    """(order id as text, *fields) rows ordered by order id, fetched in chunks.

    Ids travel as text: comparing and hashing strings is several times cheaper than uuid.UUID
    objects, and the column's order is the text's order (fixed-width lowercase hex). Each
    stream is read ahead on its own connection while the merge works (read_ahead).
    """
    rows = (
        queryset.filter(**{f"{key}__isnull": False})
        .annotate(_key=Cast(key, CharField()))
        .order_by(key)
        .values_list("_key", *fields)
    )
    return read_ahead(rows.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE)


class _Cursor:
    """A stream of rows ordered by order id that hands out the rows of one order at a time."""

    def __init__(self, rows: Iterator[tuple]) -> None:
        self._rows = rows
        self._head: tuple | None = next(self._rows, None)

    @property
    def next_key(self) -> str | None:
        return None if self._head is None else self._head[0]

    def take(self, key: str) -> list[tuple]:
        """The rows for `key`, skipping rows of smaller keys (orders no saga refers to)."""
        taken = []
        head = self._head
        while head is not None and head[0] <= key:
            if head[0] == key:
                taken.append(head[1:])
            following = next(self._rows, None)
            if following is not None and following[0] < head[0]:
                raise RuntimeError("order ids came back out of order; the merge join would miss rows")
            head = following
        self._head = head
        return taken


def _check_orders() -> Iterator[Violation]:
    skus = dict(Product.objects.using("inventory").values_list("pk", "sku").iterator(chunk_size=CHUNK_SIZE))
    # Only the order saga's business key is an order's id; another saga's key names something else.
    order_sagas = SagaInstance.objects.using("default").filter(definition_name=ORDER_SAGA.name)
    sagas = _Cursor(_rows_by_order(order_sagas, "business_key", "id", "status"))
    cancellation_sagas = SagaInstance.objects.using("default").filter(definition_name=ORDER_CANCELLATION_SAGA.name)
    cancellations = _Cursor(_rows_by_order(cancellation_sagas, "business_key", "id", "status"))
    # An order and its lines in one stream (a left join: one row per line, one with no line when
    # it has none), so the merge walks one stream fewer.
    orders = _Cursor(
        _rows_by_order(Order.objects.using("orders"), "id", "status", "total", "lines__sku", "lines__quantity")
    )
    # A payment's refund is one-to-one: the left join adds its amount (None when not refunded).
    payments = _Cursor(
        _rows_by_order(Payment.objects.using("payments"), "order_id", "pk", "status", "amount", "refund__amount")
    )
    reservations = _Cursor(
        _rows_by_order(Reservation.objects.using("inventory"), "order_id", "product_id", "quantity", "status")
    )
    while (order_id := sagas.next_key) is not None:
        saga_rows = sagas.take(order_id)
        order_rows = orders.take(order_id)
        problems = _check_one_order(
            order_id,
            saga_rows,
            order_rows[0][:2] if order_rows else None,
            [(sku, quantity) for _, _, sku, quantity in order_rows if sku is not None],
            payments.take(order_id),
            [(skus.get(pid, f"product #{pid}"), qty, status) for pid, qty, status in reservations.take(order_id)],
            cancellations.take(order_id),
        )
        if problems:
            yield from problems


def _uuid_text(value: object) -> str:
    """The usual hyphenated form of an id that may come back as bare hex (SQLite)."""
    return str(uuid.UUID(str(value)))


def _check_one_order(
    order_key: str,
    sagas: list[tuple],
    order: tuple | None,
    lines: list[tuple],
    payments: list[tuple],
    reservations: list[tuple],
    cancellations: Sequence[tuple] = (),
) -> list[Violation]:
    """What is wrong with one order and the sagas that drive it; usually nothing, so kept cheap."""
    problems: list[Violation] = []
    if cancellations:
        return _check_cancelled_order(order_key, sagas, order, lines, payments, reservations, cancellations)
    if len(sagas) == 1:
        saga_key, status = sagas[0]
        if status == _COMPLETED:
            if order is None or order[0] != _APPROVED or not _fully_applied(order, lines, payments, reservations):
                problems += _check_completed(
                    _uuid_text(saga_key), _uuid_text(order_key), order, lines, payments, reservations
                )
        elif status == _COMPENSATED and not _fully_undone(order, payments, reservations):
            problems += _check_compensated(_uuid_text(saga_key), _uuid_text(order_key), order, payments, reservations)
        if len(payments) <= 1 and len(reservations) <= 1:
            return problems
    order_id = _uuid_text(order_key)
    problems += _duplicates(order_id, sagas, payments, reservations)
    if len(sagas) > 1:
        for saga_key, status in sagas:
            if status == _COMPLETED:
                problems += _check_completed(_uuid_text(saga_key), order_id, order, lines, payments, reservations)
            elif status == _COMPENSATED:
                problems += _check_compensated(_uuid_text(saga_key), order_id, order, payments, reservations)
    return problems


def _fully_applied(order: tuple, lines: list, payments: list, reservations: list) -> bool:
    """The common case of a completed order, checked without building anything."""
    return (
        len(payments) == 1
        and payments[0][1] == _CAPTURED
        and payments[0][2] == order[1]
        and len(reservations) == 1
        and len(lines) == 1
        and reservations[0][2] == _COMMITTED
        and reservations[0][:2] == lines[0]
    )


def _fully_undone(order: tuple | None, payments: list, reservations: list) -> bool:
    return (
        (order is None or order[0] == _CANCELLED)
        and all(status != _CAPTURED for _, status, _, _ in payments)
        and all(status not in _HELD for _, _, status in reservations)
    )


def _check_completed(
    saga_id: str, order_id: str, order: tuple | None, lines: list, payments: list, reservations: list
) -> list[Violation]:
    problems = []
    if order is None:
        problems.append(
            Violation.of(1, saga_id, order_id, gettext_noop("the saga completed but its order was never created"))
        )
    elif order[0] != _APPROVED:
        problems.append(
            Violation.of(
                1, saga_id, order_id, gettext_noop("the saga completed but its order is %(status)s"), status=order[0]
            )
        )
    captured = [amount for _, status, amount, _ in payments if status == _CAPTURED]
    if len(captured) != 1:
        problems.append(
            Violation.of(
                1,
                saga_id,
                order_id,
                gettext_noop("%(count)s captured payments, exactly one expected"),
                count=len(captured),
            )
        )
    elif order is not None and captured[0] != order[1]:
        problems.append(
            Violation.of(
                1,
                saga_id,
                order_id,
                gettext_noop("captured %(captured)s but the order total is %(total)s"),
                captured=captured[0],
                total=order[1],
            )
        )
    ordered = _quantities(lines)
    committed = _quantities((sku, qty) for sku, qty, status in reservations if status == _COMMITTED)
    if committed != ordered:
        problems.append(
            Violation.of(
                1,
                saga_id,
                order_id,
                gettext_noop("committed stock %(committed)s but ordered %(ordered)s"),
                committed=_show(committed),
                ordered=_show(ordered),
            )
        )
    return problems


def _check_compensated(
    saga_id: str, order_id: str, order: tuple | None, payments: list, reservations: list
) -> list[Violation]:
    problems = []
    if order is not None and order[0] != _CANCELLED:
        problems.append(
            Violation.of(
                2,
                saga_id,
                order_id,
                gettext_noop("the saga was compensated but its order is %(status)s"),
                status=order[0],
            )
        )
    for payment_id, status, amount, _ in payments:
        if status == _CAPTURED:
            problems.append(
                Violation.of(
                    2,
                    saga_id,
                    order_id,
                    gettext_noop("payment %(payment)s of %(amount)s is still captured"),
                    payment=payment_id,
                    amount=amount,
                )
            )
    for sku, quantity, status in reservations:
        if status in _HELD:
            problems.append(_reservation_held(2, saga_id, order_id, quantity, sku, status))
    return problems


def _check_cancelled_order(
    order_key: str,
    sagas: list[tuple],
    order: tuple | None,
    lines: list[tuple],
    payments: list[tuple],
    reservations: list[tuple],
    cancellations: Sequence[tuple],
) -> list[Violation]:
    """An order that a customer set out to cancel after it was confirmed.

    Once a cancellation completed, invariant 7 holds instead of 1; while one runs (or waits for
    an operator) the order is in flux and only its duplicates are checked; when every one was
    undone, the order is confirmed again and the placement's own invariants hold.
    """
    order_id = _uuid_text(order_key)
    statuses = [status for _, status in cancellations]
    if _COMPLETED not in statuses:
        if all(status == _COMPENSATED for status in statuses):
            return _check_one_order(order_key, sagas, order, lines, payments, reservations)
        return _duplicates(order_id, sagas, payments, reservations)
    done = [_uuid_text(saga_key) for saga_key, status in cancellations if status == _COMPLETED]
    problems = _duplicates(order_id, sagas, payments, reservations)
    if len(done) > 1:
        problems.append(
            Violation.of(
                6,
                done[0],
                order_id,
                gettext_noop("%(count)s cancellations completed for one order: %(ids)s"),
                count=len(done),
                ids=done,
            )
        )
    saga_id = done[-1]
    if order is None:
        problems.append(
            Violation.of(7, saga_id, order_id, gettext_noop("the cancellation completed but the order does not exist"))
        )
    elif order[0] != _CANCELLED:
        problems.append(
            Violation.of(
                7,
                saga_id,
                order_id,
                gettext_noop("the cancellation completed but the order is %(status)s"),
                status=order[0],
            )
        )
    if not payments:
        problems.append(
            Violation.of(7, saga_id, order_id, gettext_noop("the cancellation completed but no payment was ever taken"))
        )
    for payment_id, status, amount, refunded in payments:
        if status != _REFUNDED:
            problems.append(
                Violation.of(
                    7,
                    saga_id,
                    order_id,
                    gettext_noop("payment %(payment)s of %(amount)s is still %(status)s"),
                    payment=payment_id,
                    amount=amount,
                    status=status,
                )
            )
        elif refunded != amount:
            problems.append(
                Violation.of(
                    7,
                    saga_id,
                    order_id,
                    gettext_noop("payment %(payment)s captured %(amount)s but %(refunded)s was refunded"),
                    payment=payment_id,
                    amount=amount,
                    refunded=refunded,
                )
            )
    ordered = _quantities(lines)
    returned = _quantities((sku, qty) for sku, qty, status in reservations if status == _RETURNED)
    if returned != ordered:
        problems.append(
            Violation.of(
                7,
                saga_id,
                order_id,
                gettext_noop("returned stock %(returned)s but ordered %(ordered)s"),
                returned=_show(returned),
                ordered=_show(ordered),
            )
        )
    for sku, quantity, status in reservations:
        if status != _RETURNED:
            problems.append(_reservation_held(7, saga_id, order_id, quantity, sku, status))
    return problems


def _duplicates(order_id: str, sagas: list[tuple], payments: list[tuple], reservations: list[tuple]) -> list[Violation]:
    """Invariant 6 for one order: one placement saga, one payment, one reservation."""
    problems = []
    first_saga = _uuid_text(sagas[0][0]) if sagas else None
    if len(sagas) > 1:
        ids = [_uuid_text(s) for s, _ in sagas]
        problems.append(
            Violation.of(
                6,
                first_saga,
                order_id,
                gettext_noop("%(count)s sagas drive this order: %(ids)s"),
                count=len(sagas),
                ids=ids,
            )
        )
    if len(payments) > 1:
        problems.append(
            Violation.of(
                6,
                first_saga,
                order_id,
                gettext_noop("%(count)s payments were taken for one order"),
                count=len(payments),
            )
        )
    if len(reservations) > 1:
        problems.append(
            Violation.of(
                6,
                first_saga,
                order_id,
                gettext_noop("%(count)s reservations were made for one order"),
                count=len(reservations),
            )
        )
    return problems


def _quantities(rows: Iterable[tuple]) -> Counter:
    totals: Counter = Counter()
    for sku, quantity in rows:
        totals[sku] += quantity
    return totals


def _show(quantities: Counter) -> str:
    return ", ".join(f"{qty} x {sku}" for sku, qty in sorted(quantities.items())) or _NOTHING


# An empty list of quantities, said in the reader's language where the violation is shown.
_NOTHING = gettext_lazy("nothing")


def _reservation_held(invariant: int, saga_id: str, order_id: str, quantity: int, sku: str, status: str) -> Violation:
    return Violation.of(
        invariant,
        saga_id,
        order_id,
        gettext_noop("a reservation of %(quantity)s x %(sku)s is still %(status)s"),
        quantity=quantity,
        sku=sku,
        status=status,
    )


# --- invariants 3 and 4: one statement per participant ------------------------------------------

_MONEY = DecimalField(max_digits=20, decimal_places=2)


def _sum_of(queryset: QuerySet, link: str, field: str, output: Any) -> Coalesce:
    """The sum of `field` over the rows of `queryset` that belong to the outer row, 0 if none."""
    total = queryset.filter(**{link: OuterRef("pk")}).order_by().values(link).annotate(s=Sum(field)).values("s")
    return Coalesce(Subquery(total[:1], output_field=output), Value(0, output_field=output), output_field=output)


def _check_money() -> Iterator[Violation]:
    ledger = LedgerEntry.objects.using("payments")
    accounts = (
        CustomerAccount.objects.using("payments")
        .annotate(
            captured=_sum_of(Payment.objects.filter(status=Payment.Status.CAPTURED), "account", "amount", _MONEY),
            deposited=_sum_of(ledger.filter(kind=LedgerEntry.Kind.DEPOSIT), "account", "amount", _MONEY),
            booked=_sum_of(ledger, "account", "amount", _MONEY),
            refunded=_sum_of(Refund.objects.all(), "payment__account", "amount", _MONEY),
            refunds_booked=_sum_of(ledger.filter(kind=LedgerEntry.Kind.REFUND), "account", "amount", _MONEY),
        )
        .order_by("pk")
        .values_list("customer", "balance", "captured", "deposited", "booked", "refunded", "refunds_booked")
    )
    for customer, *amounts in accounts.iterator(chunk_size=CHUNK_SIZE):
        # SQLite sums decimals as floats; two places make both back ends compare alike.
        balance, captured, deposited, booked, refunded, refunds_booked = (to_money(amount) for amount in amounts)
        if refunded != refunds_booked:
            yield Violation.of(
                3,
                None,
                None,
                gettext_noop(
                    "account %(account)s: %(refunded)s was refunded but the ledger credits %(booked)s in refunds"
                ),
                account=customer_name(customer),
                refunded=refunded,
                booked=refunds_booked,
            )
        if balance + captured != deposited:
            yield Violation.of(
                3,
                None,
                None,
                gettext_noop(
                    "account %(account)s: balance %(balance)s + captured %(captured)s = %(sum)s, "
                    "but %(deposited)s was deposited"
                ),
                account=customer_name(customer),
                balance=balance,
                captured=captured,
                sum=balance + captured,
                deposited=deposited,
            )
        if balance != booked:
            yield Violation.of(
                3,
                None,
                None,
                gettext_noop("account %(account)s: balance %(balance)s but the ledger adds up to %(booked)s"),
                account=customer_name(customer),
                balance=balance,
                booked=booked,
            )


def _check_stock() -> Iterator[Violation]:
    held = Reservation.objects.filter(status__in=[Reservation.Status.ACTIVE, Reservation.Status.COMMITTED])
    movements = StockMovement.objects.using("inventory")
    units = IntegerField()
    products = (
        Product.objects.using("inventory")
        .annotate(
            held=_sum_of(held, "product", "quantity", units),
            received=_sum_of(movements.filter(kind=StockMovement.Kind.RECEIVED), "product", "quantity", units),
            moved=_sum_of(movements, "product", "quantity", units),
        )
        .order_by("pk")
        .values_list("sku", "stock_on_hand", "held", "received", "moved")
    )
    for sku, on_hand, held_units, received, moved in products.iterator(chunk_size=CHUNK_SIZE):
        if on_hand + held_units != received:
            yield Violation.of(
                4,
                None,
                None,
                gettext_noop(
                    "product %(sku)s: %(on_hand)s on hand + %(held)s reserved or sold = %(sum)s, "
                    "but %(received)s were received"
                ),
                sku=sku,
                on_hand=on_hand,
                held=held_units,
                sum=on_hand + held_units,
                received=received,
            )
        if on_hand != moved:
            yield Violation.of(
                4,
                None,
                None,
                gettext_noop("product %(sku)s: %(on_hand)s on hand but the movements add up to %(moved)s"),
                sku=sku,
                on_hand=on_hand,
                moved=moved,
            )


# --- invariant 6 beyond one effect per order -----------------------------------------------------


def _check_duplicate_effects() -> Iterator[Violation]:
    repeated_orders = (
        Order.objects.using("orders")
        .filter(saga_id__isnull=False)
        .values("saga_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by()
    )
    for row in repeated_orders:
        yield Violation.of(
            6, str(row["saga_id"]), None, gettext_noop("%(count)s orders were created by one saga"), count=row["n"]
        )
    # Grouped without a join or a distinct count (the offenders are few); the rest is looked up for them.
    yield from _repeated_effects(
        LedgerEntry,
        "payments",
        "payment",
        Payment,
        gettext_noop("payment %(id)s has %(count)s %(kind)s ledger entries (%(keys)s)"),
    )
    yield from _repeated_effects(
        StockMovement,
        "inventory",
        "reservation",
        Reservation,
        gettext_noop("reservation %(id)s has %(count)s %(kind)s movements (%(keys)s)"),
    )


def _repeated_effects(model: Any, alias: str, parent: str, parent_model: Any, template: str) -> Iterator[Violation]:
    """Ledger rows of one kind recorded more than once for the same payment or reservation."""
    repeated = list(
        model.objects.using(alias)
        .filter(**{f"{parent}__isnull": False})
        .values_list(f"{parent}_id", "kind")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by()
    )
    owners = _orders_of(parent_model, alias, [parent_id for parent_id, _, _ in repeated])
    for parent_id, kind, count in repeated:
        keys = (
            model.objects.using(alias)
            .filter(**{f"{parent}_id": parent_id, "kind": kind})
            .values("key")
            .distinct()
            .count()
        )
        yield Violation.of(
            6, None, owners.get(parent_id), template, id=parent_id, count=count, kind=kind, keys=_keys(keys)
        )


def _orders_of(model: Any, alias: str, pks: list[int]) -> dict[int, str]:
    """Order id (text) of each payment or reservation named, 1000 at a time."""
    found: dict[int, str] = {}
    for start in range(0, len(pks), 1000):
        rows = model.objects.using(alias).filter(pk__in=pks[start : start + 1000]).values_list("pk", "order_id")
        found.update((pk, str(order_id)) for pk, order_id in rows)
    return found


def _keys(distinct: int) -> str:
    """How many keys the repeated rows were recorded under, said in the reader's language where shown."""
    if distinct == 1:
        return gettext_lazy("one idempotency key applied twice")
    return _in_language(gettext_noop("under %(count)s different keys"), count=distinct)


def _in_language(template: str, **values: Any) -> str:
    """`template` % `values`, translated each time it is read as text (a lazy value of a Violation)."""
    return lazy(lambda: gettext(template) % values, str)()
