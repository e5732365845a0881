"""sagas.testing.drain.work: queued tasks run in this process, taken and acknowledged as a worker's broker does.

bench_sagas counts its statements per saga over this path, so it must finish what drain()
finishes and run the broker's own statements for each row.
"""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ

from orders.placement import order_place
from sagas.models import SagaInstance, SagaStatus
from sagas.testing.drain import work
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def place() -> SagaInstance:
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=2)
    return saga


def test_a_placed_order_runs_to_its_end_and_leaves_the_queue_empty(shop):
    saga = place()
    assert work() == 1
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert not OrmQ.objects.using("default").exists()


def test_a_retry_waiting_for_its_backoff_is_run_as_if_the_clock_had_moved_on(shop):
    FaultRuleFactory(operation="payments.payment_charge", mode="transient", remaining=1)
    saga = place()
    work()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED
    assert not OrmQ.objects.using("default").exists()


@pytest.mark.postgres
def test_each_row_is_claimed_and_acknowledged_by_the_listening_brokers_statements(shop):
    place()
    with CaptureQueriesContext(connections["default"]) as statements:
        work()
    claims = [query for query in statements if "WITH claimed AS" in query["sql"]]
    acknowledged = [query for query in statements if query["sql"].startswith('DELETE FROM "django_q_ormq"')]
    # The row's claim, then the claim that finds the queue empty; one acknowledgement.
    assert (len(claims), len(acknowledged)) == (2, 1)
    assert not [query for query in statements if query["sql"].startswith('SELECT "django_q_ormq"')]
