"""seed_demo gives the published demo password to nobody on a site with DEBUG off unless told to."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from inventory.models import Product
from orders.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db(databases="__all__")


def logins_with_the_demo_password() -> list[str]:
    return sorted(user.username for user in User.objects.all() if user.check_password(DEMO_PASSWORD))


def test_with_debug_off_it_refuses_before_writing_anything_and_says_why(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError) as refusal:
        call_command("seed_demo", stdout=StringIO())
    message = str(refusal.value)
    assert "DEBUG is off" in message and "published" in message
    assert "--allow-demo-passwords" in message and "--no-users" in message
    assert logins_with_the_demo_password() == []
    assert not Product.objects.exists()


def test_with_debug_off_it_seeds_the_demo_passwords_only_when_asked_explicitly(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--allow-demo-passwords", stdout=StringIO())
    assert logins_with_the_demo_password() == ["alice", "bob", "carol"]
    # The development admin login stays a development thing.
    assert not User.objects.filter(username="admin").exists()


def test_with_debug_off_the_demo_data_without_logins_needs_no_permission(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--no-users", stdout=StringIO())
    assert Product.objects.filter(sku="WIDGET-1").exists()
    assert logins_with_the_demo_password() == []


def test_in_development_it_seeds_the_demo_logins_as_before(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    assert logins_with_the_demo_password() == ["alice", "bob", "carol"]
