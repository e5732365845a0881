"""Columns that line up in a terminal whatever the language: a Japanese character takes two cells."""

import unicodedata


def cells(text: str) -> int:
    """How many terminal cells the text takes: wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def left(text: object, width: int) -> str:
    """The text padded on the right to `width` cells (never cut)."""
    text = str(text)
    return text + " " * max(0, width - cells(text))


def right(text: object, width: int) -> str:
    """The text padded on the left to `width` cells (never cut)."""
    text = str(text)
    return " " * max(0, width - cells(text)) + text
