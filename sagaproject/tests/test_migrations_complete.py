"""Every model change has its migration: a label or a choice changed without one would leave
`makemigrations` writing a migration on the operator's machine."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db(databases="__all__")
def test_no_model_change_lacks_a_migration(capsys):
    # --check exits non-zero (SystemExit) and names the app when a migration is missing.
    call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    assert "No changes detected" in capsys.readouterr().out
