"""Amounts shown in the site's currency, grouped and signed the active language's way."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from sagas.participant.money import format_money


@pytest.mark.parametrize("language", ["en", "ja"])
def test_an_amount_is_shown_with_the_symbol_grouping_and_two_decimals(language):
    with translation.override(language):
        assert format_money(Decimal("1234567.5")) == "$1,234,567.50"


def test_a_negative_amount_puts_its_sign_before_the_symbol():
    with translation.override("en"):
        assert format_money(Decimal("-25")) == "-$25.00"


def test_the_currency_settings_choose_symbol_and_decimals(settings):
    settings.CURRENCY_CODE = "JPY"
    settings.CURRENCY_SYMBOL = "¥"
    settings.CURRENCY_DECIMALS = 0
    with translation.override("ja"):
        assert format_money("120000.40") == "¥120,000"


def test_a_float_is_refused():
    with pytest.raises(TypeError):
        format_money(1.5)


def test_the_money_filter_formats_an_amount_and_leaves_a_missing_one_empty():
    template = Template("{% load money %}[{{ price|money }}][{{ missing|money }}]")
    with translation.override("en"):
        assert template.render(Context({"price": Decimal("9.5"), "missing": None})) == "[$9.50][]"
