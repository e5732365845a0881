"""Numbers given to the ops commands, read by the one strict parse of numbers people type.

argparse's `type=int` refuses "²" but takes full-width digits as ASCII ones, and `type=float` also takes
"nan", "inf" and "1e3". These adapters accept the ASCII digits 0-9 only (sagas.participant.parsing),
and a refusal reads like the forms' and the API's: "argument --older-than: Enter a whole number
of at least 0, in the digits 0-9."
"""

import argparse
from collections.abc import Callable

from django.utils.translation import gettext as _

from sagas.participant.parsing import InvalidNumber, parse_whole_number


def whole_number(*, minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse `type` for a whole number within `minimum`..`maximum`, in the digits 0-9."""

    def parse(text: str) -> int:
        try:
            return parse_whole_number(text, minimum=minimum, maximum=maximum)
        except InvalidNumber as error:
            raise argparse.ArgumentTypeError(error.message) from None

    parse.__name__ = "whole number"  # argparse names the type when it refuses a value
    return parse


def decimal_number(*, minimum: float = 0, maximum: float | None = None) -> Callable[[str], float]:
    """An argparse `type` for a number such as 2 or 0.5 within the bounds: digits 0-9 and at most one point."""

    def refuse() -> argparse.ArgumentTypeError:
        if maximum is not None:
            text = _("Enter a number from %(minimum)g to %(maximum)g, in the digits 0-9 (a decimal point allowed).")
        else:
            text = _("Enter a number of at least %(minimum)g, in the digits 0-9 (a decimal point allowed).")
        return argparse.ArgumentTypeError(text % {"minimum": minimum, "maximum": maximum})

    def parse(text: str) -> float:
        whole, point, fraction = text.strip().partition(".")
        try:
            # Each side of the point is read by the whole-number parse, so only 0-9 pass.
            parse_whole_number(whole)
            if point:
                parse_whole_number(fraction)
        except InvalidNumber:
            raise refuse() from None
        number = float(f"{whole}{point}{fraction}")
        if number < minimum or (maximum is not None and number > maximum):
            raise refuse()
        return number

    parse.__name__ = "number"
    return parse
