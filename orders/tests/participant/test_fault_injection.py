"""Fault rules fire only where FAULT_INJECTION allows (by default with DEBUG on), and a rule's
delay is never negative."""

import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from inventory.tests.factories import ProductFactory
from orders.placement import order_place
from payments.tests.factories import AccountFactory
from sagas.models import FaultRule, SagaStatus
from sagas.participant import faults
from sagas.participant.refusals import InjectedRefusal
from sagas.testing.drain import drain
from sagas.tests.factories import FaultRuleFactory

BASE = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db(databases="__all__")


def _fault_injection_setting(**env: str) -> str:
    """FAULT_INJECTION as the settings read it in a process with only PATH and `env`."""
    script = "import django; django.setup(); from django.conf import settings; print(settings.FAULT_INJECTION)"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "sagaproject.settings",
            "SECRET_KEY": "k" * 60,
            # A data directory of its own: no development.env of a local `make run` leaks in.
            "DATA_DIR": tempfile.mkdtemp(),
            **env,
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_fault_injection_is_on_with_debug_and_off_without_unless_the_setting_says_otherwise(tmp_path):
    data = str(tmp_path)
    assert _fault_injection_setting(DATA_DIR=data) == "False"
    assert _fault_injection_setting(DATA_DIR=data, DEBUG="1") == "True"
    assert _fault_injection_setting(DATA_DIR=data, FAULT_INJECTION="1") == "True"
    assert _fault_injection_setting(DATA_DIR=data, DEBUG="1", FAULT_INJECTION="0") == "False"


def test_an_enabled_rule_does_nothing_where_fault_injection_is_off(settings):
    FaultRuleFactory(operation="payments.payment_charge", mode="refuse")
    settings.FAULT_INJECTION = True
    with pytest.raises(InjectedRefusal):
        faults.inject("payments.payment_charge")
    settings.FAULT_INJECTION = False
    faults.clear_cache()
    faults.inject("payments.payment_charge")  # no refusal

    AccountFactory(customer="alice", balance=Decimal("100.00"))
    ProductFactory(sku="WIDGET-1", unit_price=Decimal("25.00"), stock_on_hand=10)
    saga, _ = order_place(customer="alice", sku="WIDGET-1", quantity=1)
    drain()
    saga.refresh_from_db()
    assert saga.status == SagaStatus.COMPLETED


def test_the_admin_says_fault_injection_is_off_and_shows_no_fault_banner(admin_client, settings):
    FaultRuleFactory(operation="payments.payment_charge", mode="refuse")
    settings.FAULT_INJECTION = True
    page = admin_client.get(reverse("admin:sagas_faultrule_changelist")).content.decode()
    assert "Fault injection is ON" in page
    settings.FAULT_INJECTION = False
    page = admin_client.get(reverse("admin:sagas_faultrule_changelist")).content.decode()
    assert "Fault injection is off on this site" in page
    assert "Fault injection is ON" not in page
    page = admin_client.get(reverse("admin:sagas_faultrule_add")).content.decode()
    assert "Fault injection is off on this site" in page


def test_the_admin_refuses_a_negative_delay_with_a_clear_error(admin_client):
    form = {
        "operation": "inventory.stock_reserve",
        "phase": "before",
        "mode": "delay",
        "probability": "1",
        "delay_seconds": "-2",
        "remaining": "",
        "message": "",
        "enabled": "on",
    }
    response = admin_client.post(reverse("admin:sagas_faultrule_add"), form)
    assert response.status_code == 200
    assert "The delay cannot be negative." in response.content.decode()
    assert not FaultRule.objects.exists()
    form["delay_seconds"] = "2"
    response = admin_client.post(reverse("admin:sagas_faultrule_add"), form)
    assert response.status_code == 302
    assert FaultRule.objects.get().delay_seconds == 2


def test_the_database_refuses_a_negative_delay_from_any_writer():
    with pytest.raises(IntegrityError), transaction.atomic():
        FaultRuleFactory(mode="delay", delay_seconds=-1)
