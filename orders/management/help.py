"""The orders commands' --help in the reader's language, wrapped as that language wraps.

argparse wraps at spaces only, so a Japanese paragraph (no spaces between words) came out as lines
of any length broken around its ASCII words. Text with wide characters is wrapped here by the
cells it takes on a terminal, an ASCII word (an option name) never broken.
"""

import re
import unicodedata
from typing import Any

from django.core.management.base import CommandParser, DjangoHelpFormatter
from django.utils.translation import gettext

# An ASCII word stays whole; every other character may end a line.
_TOKENS = re.compile(r"[!-~]+|\s+|.", re.S)


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def wrap(text: str, width: int) -> list[str]:
    """The text in lines of at most `width` terminal cells (an ASCII word longer than that stands alone)."""
    lines, line = [], ""
    for token in _TOKENS.findall(" ".join(text.split())):
        if line and _cells(line + token.rstrip()) > width:
            lines.append(line.rstrip())
            line = "" if token.isspace() else token
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


class HelpFormatter(DjangoHelpFormatter):
    """Django's help layout; text with wide characters wrapped by terminal cells."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return super()._split_lines(text, width) if text.isascii() else wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.isascii():
            return super()._fill_text(text, width, indent)
        return "\n".join(indent + line for line in wrap(text, width - len(indent)))


class TranslatedHelp:
    """A command mixin: its `help` (an English msgid, marked with gettext_noop) said in the language
    active when the parser is made, which argparse needs as a plain str, and wrapped for it."""

    help: str

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = gettext(type(self).help)
        kwargs.setdefault("formatter_class", HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)  # type: ignore[misc]
