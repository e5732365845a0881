"""A list whose columns are editable in place can be saved from the list itself."""

import pytest
from django.urls import reverse

from sagas.tests.admin_support import staff_user
from sagas.tests.factories import FaultRuleFactory

pytestmark = pytest.mark.django_db(databases="__all__")

FAULT_LIST = "admin:sagas_faultrule_changelist"


@pytest.fixture
def root_client(client):
    client.force_login(staff_user("root", superuser=True))
    return client


def test_the_fault_rule_list_has_a_save_button_for_its_enabled_column(root_client):
    FaultRuleFactory(enabled=False)
    page = root_client.get(reverse(FAULT_LIST)).content.decode()
    assert 'name="form-0-enabled"' in page
    assert 'name="_save"' in page


def test_switching_a_fault_rule_on_in_the_list_saves_it(root_client):
    rule = FaultRuleFactory(enabled=False)
    response = root_client.post(
        reverse(FAULT_LIST),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(rule.pk),
            "form-0-enabled": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.enabled is True


def test_the_saga_list_keeps_its_estimating_count_and_needs_no_save_button(root_client):
    page = root_client.get(reverse("admin:sagas_sagainstance_changelist")).content.decode()
    assert "0 sagas" in page or "0 saga instances" in page
    assert 'name="_save"' not in page
