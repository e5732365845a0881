"""The one parse of a whole number typed by a person: ASCII digits only, within bounds, refused in words."""

import pytest

from sagas.participant.parsing import InvalidNumber, NumberProblem, parse_whole_number


@pytest.mark.parametrize(("text", "number"), [("7", 7), (" 12 ", 12), ("007", 7), ("0", 0), (5, 5)])
def test_ascii_digits_and_ints_are_read_as_the_number_they_spell(text, number):
    assert parse_whole_number(text) == number


@pytest.mark.parametrize(
    "text",
    ["²", "①", "\uff11\uff12", "٣", "1²", "", " ", "-3", "+3", "1.0", "1e3", "1_000", "abc", True, 2.0, None],
)
def test_anything_but_ascii_digits_is_not_a_whole_number(text):
    with pytest.raises(InvalidNumber) as caught:
        parse_whole_number(text, minimum=1, maximum=10)
    assert caught.value.problem == NumberProblem.NOT_A_WHOLE_NUMBER
    assert caught.value.message == "Enter a whole number from 1 to 10, in the digits 0-9."


@pytest.mark.parametrize(
    ("text", "problem"),
    [("0", NumberProblem.TOO_SMALL), ("11", NumberProblem.TOO_LARGE), ("9" * 5000, NumberProblem.TOO_LARGE)],
)
def test_a_number_outside_the_bounds_says_which_way(text, problem):
    with pytest.raises(InvalidNumber) as caught:
        parse_whole_number(text, minimum=1, maximum=10)
    assert caught.value.problem == problem


def test_without_an_upper_bound_the_message_names_the_lower_one():
    with pytest.raises(InvalidNumber, match=r"^Enter a whole number of at least 1, in the digits 0-9\.$"):
        parse_whole_number("0", minimum=1)
