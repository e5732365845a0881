"""Whole numbers typed by people: one strict parse for every form field, option and query parameter.

`str.isdigit()` also accepts superscripts ("²"), circled digits ("①") and other scripts' digits,
some of which `int()` then refuses (a server error) and some of which it quietly converts. Only
the ASCII digits 0-9 are a number here, so every caller refuses the same inputs with the same words.
"""

import re
from enum import StrEnum

from django.utils.translation import gettext as _

# Not `\d`: in a str pattern it matches every Unicode decimal digit.
_WHOLE_NUMBER = re.compile(r"[0-9]+")
# Longer than any limit a caller sets, short enough that `int()` never works hard on it.
_MAX_DIGITS = 30


class NumberProblem(StrEnum):
    NOT_A_WHOLE_NUMBER = "not_a_whole_number"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"


class InvalidNumber(ValueError):
    """The input is not a whole number within the bounds asked for; `problem` says which way, the message in words."""

    def __init__(self, problem: NumberProblem, message: str, *, minimum: int, maximum: int | None) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
        self.minimum = minimum
        self.maximum = maximum


def _expected(minimum: int, maximum: int | None) -> str:
    if maximum is not None:
        return _("Enter a whole number from %(minimum)d to %(maximum)d, in the digits 0-9.") % {
            "minimum": minimum,
            "maximum": maximum,
        }
    return _("Enter a whole number of at least %(minimum)d, in the digits 0-9.") % {"minimum": minimum}


def parse_whole_number(value: object, *, minimum: int = 0, maximum: int | None = None) -> int:
    """The whole number `value` spells in ASCII digits (an int passes as it is), within `minimum`..`maximum`.

    Surrounding blanks are ignored; a sign, a decimal point, a bool or any other digit than 0-9 is
    refused with InvalidNumber, as is a number outside the bounds.
    """

    def refuse(problem: NumberProblem) -> InvalidNumber:
        return InvalidNumber(problem, _expected(minimum, maximum), minimum=minimum, maximum=maximum)

    if isinstance(value, bool):
        raise refuse(NumberProblem.NOT_A_WHOLE_NUMBER)
    if isinstance(value, str):
        text = value.strip()
        if not _WHOLE_NUMBER.fullmatch(text):
            raise refuse(NumberProblem.NOT_A_WHOLE_NUMBER)
        if len(text.lstrip("0")) > _MAX_DIGITS:
            raise refuse(NumberProblem.TOO_LARGE)
        number = int(text)
    elif isinstance(value, int):
        number = value
    else:
        raise refuse(NumberProblem.NOT_A_WHOLE_NUMBER)
    if number < minimum:
        raise refuse(NumberProblem.TOO_SMALL)
    if maximum is not None and number > maximum:
        raise refuse(NumberProblem.TOO_LARGE)
    return number
