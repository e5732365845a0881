"""Money is Decimal with two places, end to end; floats are refused. Shown in the site's currency."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.utils import formats, translation

CENT = Decimal("0.01")


def to_money(value: Decimal | str | int) -> Decimal:
    """Exact two-place Decimal from a Decimal, an int or a decimal string."""
    if isinstance(value, float):
        raise TypeError("Money must not be a float; pass a Decimal or a string.")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{value!r} is not an amount of money.") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount of money.")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# Where the symbol and the sign stand, per language (CLDR's standard currency pattern); a
# language not listed writes the symbol first. Grouping and the decimal mark come from the
# language's Django formats.
_PATTERNS = {
    "en": "{sign}{symbol}{number}",
    "ja": "{sign}{symbol}{number}",
}
_DEFAULT_PATTERN = "{sign}{symbol}{number}"


def format_money(amount: Decimal | str | int) -> str:
    """The amount in the site's currency (CURRENCY_SYMBOL, CURRENCY_DECIMALS), written the active language's way."""
    decimals = settings.CURRENCY_DECIMALS
    value = Decimal(to_money(amount)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    number = formats.number_format(abs(value), decimals, use_l10n=True, force_grouping=True)
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    pattern = _PATTERNS.get(language, _DEFAULT_PATTERN)
    return pattern.format(sign="-" if value < 0 else "", symbol=settings.CURRENCY_SYMBOL, number=number)
