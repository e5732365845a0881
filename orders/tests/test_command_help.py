"""The orders commands' --help in the reader's language, wrapped by the cells a terminal gives it."""

from django.utils import translation

from orders.management.commands.seed_demo import Command as SeedDemo
from orders.management.help import _cells, wrap


def _help(language, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to the terminal's width
    with translation.override(language):
        return SeedDemo().create_parser("manage.py", "seed_demo").format_help()


def test_japanese_help_is_wrapped_within_the_terminal_and_keeps_option_names_whole(monkeypatch):
    text = _help("ja", monkeypatch)
    lines = text.splitlines()
    assert "デモの商品、顧客、ログインを作成します。" in text
    assert any(line.strip().startswith("--allow-demo-passwords (公開デモ)") for line in lines)
    assert all(_cells(line) <= 80 for line in lines if not line.isascii())


def test_english_help_reads_as_written(monkeypatch):
    assert "Create the demo products, customers and logins" in _help("en", monkeypatch)


def test_wrap_breaks_between_wide_characters_but_never_inside_an_ascii_word():
    assert wrap("あいうえお --no-users かきくけこ", 12) == ["あいうえお", "--no-users", "かきくけこ"]
