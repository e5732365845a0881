"""Every admin page renders with real data, for a logged-in operator."""

import pytest
from django.urls import reverse

from inventory import models as inventory_models
from inventory.models import IdempotencyRecord as InventoryRecord
from inventory.models import Product, Reservation, StockMovement
from orders import models as orders_models
from orders.models import IdempotencyRecord as OrderRecord
from orders.models import Order
from orders.placement import order_place
from orders.tests.support.sagas import placed, refunded_saga
from payments import models as payments_models
from payments.models import CustomerAccount, LedgerEntry, Payment, Refund
from payments.models import IdempotencyRecord as PaymentRecord
from sagas.models import FaultRule, IdempotentRequest, SagaStepLog
from sagas.tests.admin_support import staff_user
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

MODELS = [
    Order,
    OrderRecord,
    CustomerAccount,
    Payment,
    Refund,
    LedgerEntry,
    PaymentRecord,
    Product,
    Reservation,
    StockMovement,
    InventoryRecord,
    SagaStepLog,
    FaultRule,
]


@pytest.fixture
def history(shop):
    """A completed saga, a compensated one that was charged and refunded, and an old fault rule."""
    completed = placed()
    refunded = refunded_saga()
    FaultRule.objects.update(enabled=False)
    return completed, refunded


@pytest.fixture
def root_client(client):
    client.force_login(staff_user("root", superuser=True))
    return client


def _admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m._meta.app_label}.{m.__name__}")
def test_each_model_list_and_page_render_with_data(history, root_client, model):
    row = model.objects.first()
    assert row is not None, f"the fixture left no {model.__name__}"
    listing = root_client.get(_admin_url(model, "changelist"))
    assert listing.status_code == 200
    page = root_client.get(_admin_url(model, "change", row.pk))
    assert page.status_code == 200


def test_the_saga_list_shows_status_type_order_step_and_error(history, root_client):
    completed, _ = history
    response = root_client.get(reverse("admin:sagas_sagainstance_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "COMPENSATED" in html and "COMPLETED" in html
    assert reverse("admin:orders_order_change", args=[completed.business_key]) in html
    assert "charge_payment: InjectedTransientError" in html


def test_the_saga_page_shows_context_steps_timeline_and_participants(history, root_client):
    _, refunded = history
    response = root_client.get(reverse("admin:sagas_sagainstance_change", args=[refunded.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "&quot;order_id&quot;" in html  # the context as JSON
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="saga-timeline"' in html
    assert "<details><summary>" in html  # a traceback folded away
    assert reverse("admin:orders_order_change", args=[refunded.business_key]) in html
    payment = Payment.objects.get(order_id=refunded.business_key)
    reservation = Reservation.objects.get(order_id=refunded.business_key)
    assert reverse("admin:payments_payment_change", args=[payment.pk]) in html
    assert reverse("admin:inventory_reservation_change", args=[reservation.pk]) in html


def test_an_order_links_to_its_saga_and_a_payment_to_the_saga_of_its_order(history, root_client):
    _, refunded = history
    order_page = root_client.get(_admin_url(Order, "change", refunded.business_key)).content.decode()
    assert reverse("admin:sagas_sagainstance_change", args=[refunded.pk]) in order_page
    assert "WIDGET-1" in order_page  # the order's lines, inline
    payment = Payment.objects.get(order_id=refunded.business_key)
    payment_page = root_client.get(_admin_url(Payment, "change", payment.pk)).content.decode()
    by_order = reverse("admin:sagas_sagainstance_by_business_key", args=[refunded.business_key])
    assert by_order in payment_page
    followed = root_client.get(by_order)
    assert followed.url == reverse("admin:sagas_sagainstance_change", args=[refunded.pk])


def test_the_overview_shows_counts_chart_slow_steps_errors_and_stuck_sagas(history, root_client):
    response = root_client.get(reverse("admin:sagas_overview"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="outcome-chart"' in html
    assert "charge_payment" in html  # slowest steps and errors
    assert "InjectedTransientError" in html
    assert "Nothing is stuck." in html


def test_the_admin_index_links_to_the_overview(root_client):
    html = root_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:sagas_overview") in html


def test_participant_rows_cannot_be_added_changed_or_deleted_through_the_admin(history, root_client):
    payment = Payment.objects.first()
    assert root_client.get(_admin_url(Payment, "add")).status_code == 403
    assert root_client.post(_admin_url(Payment, "delete", payment.pk), {"post": "yes"}).status_code == 403
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_a_banner_shows_on_every_admin_page_while_a_fault_rule_is_on(history, root_client):
    quiet = root_client.get(reverse("admin:index")).content.decode()
    assert "Fault injection is ON" not in quiet
    FaultRuleFactory(operation="payments.payment_charge", mode="transient")
    for url in (reverse("admin:index"), _admin_url(Order, "changelist"), reverse("admin:sagas_overview")):
        assert "Fault injection is ON" in root_client.get(url).content.decode()


def test_only_a_superuser_may_change_fault_rules(client):
    rule = FaultRuleFactory(enabled=False)
    client.force_login(staff_user("support", "view_faultrule"))
    assert client.get(_admin_url(FaultRule, "change", rule.pk)).status_code == 200
    response = client.post(
        _admin_url(FaultRule, "change", rule.pk),
        {"operation": rule.operation, "phase": "before", "mode": "refuse", "probability": 1, "delay_seconds": 0},
    )
    assert response.status_code == 403
    assert client.get(_admin_url(FaultRule, "add")).status_code == 403
    rule.refresh_from_db()
    assert rule.enabled is False


def test_a_superuser_switches_a_fault_rule_on_from_the_admin(root_client):
    response = root_client.post(
        _admin_url(FaultRule, "add"),
        {
            "operation": "payments.payment_charge",
            "phase": "before",
            "mode": "refuse",
            "probability": "1",
            "delay_seconds": "0",
            "message": "card declined",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    rule = FaultRule.objects.get()
    assert (rule.mode, rule.enabled, rule.created_by) == ("refuse", True, "root")


def test_the_api_request_log_renders(root_client):
    IdempotentRequest.objects.create(key="k-1", user_id=1, method="POST", path="/api/orders/", fingerprint="x" * 64)
    assert root_client.get(_admin_url(IdempotentRequest, "changelist")).status_code == 200


def test_a_choreographed_saga_page_shows_its_events_on_the_timeline(shop, root_client):
    from sagas.testing.choreography import drain_events

    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=11, style="choreography")
    drain_events()
    response = root_client.get(reverse("admin:sagas_sagainstance_change", args=[saga.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="saga-timeline"' in html and "Event handled" in html


EVENT_MODELS = [
    model for app in (orders_models, payments_models, inventory_models) for model in (app.OutboxEvent, app.InboxEvent)
]


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: f"{m._meta.app_label}.{m.__name__}")
def test_each_service_outbox_and_inbox_show_a_choreographed_saga_events(shop, root_client, model):
    from sagas.testing.choreography import drain_events

    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1, style="choreography")
    drain_events()
    row = model.objects.filter(saga_id=saga.pk).first()
    assert row is not None, f"no {model._meta.label} row for the saga"
    listing = root_client.get(_admin_url(model, "changelist"), {"q": str(saga.pk)})
    assert listing.status_code == 200
    assert row.event_type in listing.content.decode()
    page = root_client.get(_admin_url(model, "change", row.pk))
    assert page.status_code == 200
    assert reverse("admin:sagas_sagainstance_change", args=[saga.pk]) in page.content.decode()


def test_the_outbox_pending_filter_lists_only_events_not_yet_handed_on(shop, root_client):
    from orders.models import OutboxEvent
    from sagas.testing.choreography import drain_events

    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1, style="choreography")
    drain_events()
    events = {e.event_type: e.pk for e in OutboxEvent.objects.filter(saga_id=saga.pk)}
    OutboxEvent.objects.filter(pk=events["order-created"]).update(delivered_at=None)
    html = root_client.get(_admin_url(OutboxEvent, "changelist"), {"pending": "yes"}).content.decode()
    assert _admin_url(OutboxEvent, "change", events["order-created"]) in html
    assert _admin_url(OutboxEvent, "change", events["order-approved"]) not in html
