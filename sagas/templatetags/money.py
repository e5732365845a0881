"""`{% load money %}{{ amount|money }}`: an amount in the site's currency, for the active language."""

from decimal import Decimal

from django import template

from sagas.participant.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount: Decimal | str | int | None) -> str:
    """The formatted amount; nothing for a missing one (a page shows a dash of its own if it wants)."""
    if amount is None or amount == "":
        return ""
    return format_money(amount)
