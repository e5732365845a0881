"""Filling the databases with many finished sagas, fast, for measuring the console at scale.

Each synthetic saga is consistent with its participants' rows (an approved order with its
payment and committed reservation, or a cancelled order with its released reservation), so
`check_consistency` has real work to do and finds nothing wrong. On PostgreSQL rows go in with
COPY; elsewhere with bulk inserts.
"""

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connections, transaction
from django.db.models import F

from inventory.models import Product
from payments.models import CustomerAccount

PRICE = Decimal("10.00")
STEPS_OK = ("create_order", "reserve_stock", "charge_payment", "approve_order", "commit_stock")


def _stored_form(connection):
    """Values as the ORM itself would store them, so lookups by id and date find the filled rows."""
    ops = connection.ops

    def adapt(value):
        if isinstance(value, uuid.UUID):
            return value.hex
        if isinstance(value, datetime):
            return ops.adapt_datetimefield_value(value)
        if isinstance(value, Decimal):
            return str(value)
        return value

    return adapt


def _copy(alias: str, table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> int:
    """Write rows into a table: COPY on PostgreSQL, executemany elsewhere."""
    connection = connections[alias]
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            batch: list[tuple] = []
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
            adapt = _stored_form(connection)
            for row in rows:
                batch.append(tuple(adapt(v) for v in row))
                if len(batch) >= 5000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
    return count


def fill(total: int, seed: int = 1, failed_share: float = 0.01, stuck_share: float = 0.001) -> dict[str, int]:
    """Add `total` sagas with step logs and matching participant rows; returns rows written per table."""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    customer = f"fill-{run}"
    sku = f"FILL-{run}"
    from inventory import services as inventory
    from payments import services as payments

    payments.account_open(customer, "0")
    product = inventory.product_register(sku, "Filler item", PRICE, total)
    account = CustomerAccount.objects.using("payments").get(customer=customer)
    now = datetime.now(UTC)
    plan = []
    for number in range(total):
        roll = rng.random()
        kind = (
            "failed"
            if roll < failed_share
            else "stuck"
            if roll < failed_share + stuck_share
            else ("completed" if rng.random() < 0.8 else "compensated")
        )
        created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
        plan.append((uuid.uuid4(), uuid.uuid4(), kind, created, number))
    completed = [p for p in plan if p[2] == "completed"]
    written: dict[str, int] = {}

    def saga_rows() -> Iterator[tuple]:
        for saga_id, order_id, kind, created, _ in plan:
            status = {"completed": "COMPLETED", "compensated": "COMPENSATED", "failed": "FAILED", "stuck": "RUNNING"}[
                kind
            ]
            finished = created + timedelta(milliseconds=rng.randint(40, 400)) if kind != "stuck" else None
            lease = created + timedelta(seconds=20) if kind == "stuck" else None
            error = "charge_payment: InsufficientFunds: Insufficient funds" if kind != "completed" else ""
            context = json.dumps({"input": {"order_id": str(order_id), "customer": customer, "sku": sku}})
            yield (
                saga_id,
                "order",
                1,
                "orchestration",
                status,
                "COMPENSATION" if kind == "compensated" else "FORWARD",
                4 if kind == "completed" else 0,
                "commit_stock" if kind == "completed" else "create_order",
                1,
                context,
                None,
                order_id,
                customer,
                "",
                lease,
                3,
                None,
                now + timedelta(days=1) if kind == "stuck" else created + timedelta(seconds=300),
                False,
                error,
                None,
                "",
                created,
                finished or created,
                finished,
            )

    columns = (
        "id",
        "definition_name",
        "definition_version",
        "style",
        "status",
        "direction",
        "step_index",
        "current_step",
        "attempt",
        "context",
        "idempotency_key",
        "order_id",
        "customer",
        "lease_owner",
        "lease_expires_at",
        "version",
        "next_run_at",
        "deadline_at",
        "paused",
        "last_error",
        "resolved_at",
        "resolved_by",
        "created_at",
        "updated_at",
        "finished_at",
    )
    with transaction.atomic(using="default"):
        written["sagas"] = _copy("default", "sagas_sagainstance", columns, saga_rows())

    def step_rows() -> Iterator[tuple]:
        for saga_id, _, kind, created, _ in plan:
            names = STEPS_OK if kind == "completed" else ("create_order",)
            for index, name in enumerate(names):
                started = created + timedelta(milliseconds=10 * index)
                status = "SUCCEEDED" if kind in ("completed", "compensated") else "FAILED"
                yield (
                    saga_id,
                    name,
                    index,
                    "FORWARD",
                    1,
                    status,
                    "",
                    started,
                    started + timedelta(milliseconds=8),
                    "{}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                )

    step_columns = (
        "saga_id",
        "step_name",
        "step_index",
        "direction",
        "attempt",
        "status",
        "idempotency_key",
        "started_at",
        "finished_at",
        "result",
        "error_type",
        "error_message",
        "traceback",
        "worker",
        "action",
        "actor",
        "reason",
    )
    with transaction.atomic(using="default"):
        written["steps"] = _copy("default", "sagas_sagasteplog", step_columns, step_rows())

    def order_rows() -> Iterator[tuple]:
        for saga_id, order_id, kind, created, _ in plan:
            status = "APPROVED" if kind == "completed" else "CANCELLED" if kind == "compensated" else "PENDING"
            yield (order_id, f"fill:{order_id}", customer, status, PRICE, saga_id, "", created, created)

    with transaction.atomic(using="orders"):
        written["orders"] = _copy(
            "orders",
            "orders_order",
            ("id", "key", "customer", "status", "total", "saga_id", "cancel_reason", "created_at", "updated_at"),
            order_rows(),
        )
        written["order_lines"] = _copy(
            "orders",
            "orders_orderline",
            ("order_id", "sku", "quantity", "unit_price", "line_total"),
            ((o, sku, 1, PRICE, PRICE) for _, o, _, _, _ in plan),
        )
    # Completed sagas sold one unit and took one payment each, with the ledger rows that go with them.
    with transaction.atomic(using="inventory"):
        written["reservations"] = _copy(
            "inventory",
            "inventory_reservation",
            ("key", "order_id", "product_id", "quantity", "status", "created_at", "updated_at"),
            ((f"fill:{o}", o, product.pk, 1, "COMMITTED", c, c) for _, o, _, c, _ in completed),
        )
        written["stock_movements"] = _copy(
            "inventory",
            "inventory_stockmovement",
            ("product_id", "kind", "quantity", "key", "created_at"),
            ((product.pk, "RESERVED", -1, f"fill:{o}", c) for _, o, _, c, _ in completed),
        )
        Product.objects.using("inventory").filter(pk=product.pk).update(
            stock_on_hand=F("stock_on_hand") - len(completed)
        )
    payments.account_deposit(customer, PRICE * len(completed)) if completed else None
    with transaction.atomic(using="payments"):
        written["payments"] = _copy(
            "payments",
            "payments_payment",
            ("key", "account_id", "order_id", "amount", "status", "created_at", "updated_at"),
            ((f"fill:{o}", account.pk, o, PRICE, "CAPTURED", c, c) for _, o, _, c, _ in completed),
        )
        with connections["payments"].cursor() as cursor:
            cursor.execute(
                "INSERT INTO payments_ledgerentry (account_id, kind, amount, payment_id, key, created_at) "
                "SELECT account_id, 'CHARGE', -amount, id, key, created_at FROM payments_payment WHERE account_id = %s",
                [account.pk],
            )
            written["ledger_entries"] = cursor.rowcount
        CustomerAccount.objects.using("payments").filter(pk=account.pk).update(
            balance=F("balance") - PRICE * len(completed)
        )
    return written
