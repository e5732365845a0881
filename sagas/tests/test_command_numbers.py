"""Numbers given to the ops commands are read as the forms and the API read them: digits 0-9 only."""

import io

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

# (command, option, a valid value and what it reads as)
NUMBER_OPTIONS = [
    ("recover_sagas", "--older-than", "120", 120),
    ("check_consistency", "--stuck-grace", "60", 60),
    ("worker_health", "--stall-seconds", "30", 30),
    ("relay_outbox", "--older-than", "2.5", 2.5),
    ("bench_sagas", "--sagas", "12", 12),
    ("bench_sagas", "--workers", "3", 3),
    ("bench_sagas", "--clusters", "2", 2),
    ("bench_sagas", "--rounds", "4", 4),
    ("bench_sagas", "--fail-rate", "0.25", 0.25),
    ("bench_sagas", "--timeout", "90", 90),
    ("bench_admin", "--sagas", "1000", 1000),
    ("bench_admin", "--runs", "5", 5),
    ("bench_admin", "--consistency-runs", "3", 3),
]
# Full-width twelve, a superscript two, Arabic-Indic twelve, a sign, and float() spellings.
NOT_NUMBERS = ["\uff11\uff12", "\u00b2", "\u0661\u0662", "-5", "nan", "inf", "1e3", "", "12abc"]


def _parser(command: str):
    return load_command_class("sagas", command).create_parser("manage.py", command)


@pytest.mark.parametrize(("command", "option", "valid", "number"), NUMBER_OPTIONS)
def test_every_number_option_reads_ascii_digits(command, option, valid, number):
    options = _parser(command).parse_args([option, valid])
    assert getattr(options, option.lstrip("-").replace("-", "_")) == number


@pytest.mark.parametrize(("command", "option", "valid", "number"), NUMBER_OPTIONS)
@pytest.mark.parametrize("typed", NOT_NUMBERS)
def test_every_number_option_refuses_other_digits_with_a_clear_error(command, option, valid, number, typed):
    with pytest.raises(CommandError, match=rf"argument {option}: Enter a .*number.* in the digits 0-9"):
        _parser(command).parse_args([option, typed])


def test_a_share_above_one_is_refused():
    with pytest.raises(CommandError, match="from 0 to 1"):
        _parser("bench_sagas").parse_args(["--fail-rate", "1.5"])


@pytest.mark.django_db(databases="__all__")
def test_recover_sagas_says_why_it_refuses_full_width_digits_and_runs_with_ascii_ones():
    with pytest.raises(CommandError, match="--older-than: Enter a whole number of at least 0, in the digits 0-9"):
        call_command("recover_sagas", "--dry-run", "--older-than", "\uff11\uff12")
    out = io.StringIO()
    call_command("recover_sagas", "--dry-run", "--older-than", "12", stdout=out)
    assert out.getvalue().startswith("would enqueue 0 saga(s)")
