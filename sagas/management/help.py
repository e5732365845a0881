"""A command's --help in the reader's language."""

from typing import Any

from django.utils.translation import gettext


class command_help:  # named like a function: `help = command_help(...)`
    """The command's `help`: the whole docstring in English; in another language, the summary's translation.

    The docstring is the command's manual and stays one text in English; its first sentence,
    marked with gettext_noop, is what a reader of another language gets (`LANGUAGE_CODE=ja`).
    A descriptor, so the language is the one active when --help is printed, and argparse
    receives a plain str (it cannot format a lazy translation).
    """

    def __init__(self, summary: str, doc: str | None) -> None:
        self.summary, self.doc = summary, doc

    def __get__(self, instance: Any, owner: Any = None) -> str:
        translated = gettext(self.summary)
        return (self.doc or self.summary) if translated == self.summary else translated
