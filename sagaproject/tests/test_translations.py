"""Every text a person reads has its Japanese translation, and the compiled catalogues are current.

The strings are extracted the way `makemessages` does (GNU xgettext, Django's template lexer), in
a copy of the sources with the committed Japanese catalogues taken out, so the extraction is the
code's alone. Each catalogue's fresh extraction is then held against the committed `.po`:
a msgid without a translation, a fuzzy or empty entry, or a placeholder lost in translation fails
and is listed. The committed `.mo` must hold exactly what its `.po` compiles to (its content, not
its date: a checkout gives every file the same one).
"""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGUAGE = "ja"
APPS = ("orders", "payments", "inventory", "sagas")
# Never extracted: tests (their strings are not shown to anyone) and what is not source.
_NOT_SOURCE = ("tests", "test_*.py", "conftest.py", ".venv", "var", "artifacts", "docs", "staticfiles", "node_modules")
_COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".hypothesis", ".pytest_cache", ".ruff_cache", "__pycache__", "var", "artifacts", "staticfiles"
)


@dataclass(frozen=True)
class Catalogue:
    """One catalogue: where makemessages runs for it and where its Japanese files live."""

    name: str
    source: str  # the directory makemessages runs from, relative to the repository
    locale: str  # the locale directory, relative to the repository
    ignore: tuple[str, ...] = field(default=())

    def po(self, root: Path, domain: str) -> Path:
        return root / self.locale / LANGUAGE / "LC_MESSAGES" / f"{domain}.po"


CATALOGUES = [
    *(Catalogue(app, source=app, locale=f"{app}/locale") for app in APPS),
    # The project's templates (templates/) and modules (sagaproject/): LOCALE_PATHS.
    Catalogue("project", source=".", locale="sagaproject/locale", ignore=APPS),
]
DOMAINS = ("django", "djangojs")


def _require_xgettext() -> None:
    if shutil.which("xgettext") is None:
        message = "GNU gettext (xgettext) is needed to extract the translatable strings."
        if os.environ.get("CI"):
            pytest.fail(message + " CI installs the Debian package gettext (.ci/run).")
        pytest.skip(message)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], polib.POFile]:
    """(catalogue, domain) -> the catalogue the code asks for now, every msgstr empty."""
    _require_xgettext()
    copy = tmp_path_factory.mktemp("sources") / "repo"
    shutil.copytree(ROOT, copy, ignore=_COPY_IGNORE)
    for catalogue in CATALOGUES:
        folder = copy / catalogue.locale / LANGUAGE / "LC_MESSAGES"
        shutil.rmtree(folder, ignore_errors=True)
        # An app without its locale directory would have its strings put in the project's.
        folder.mkdir(parents=True)
    env = {**os.environ, "DEBUG": "1", "DATA_DIR": str(copy / "var"), "PYTHONPATH": str(copy)}
    env.pop("DATABASE_URL", None)
    found = {}
    for catalogue in CATALOGUES:
        for domain in DOMAINS:
            ignores = [arg for pattern in (*_NOT_SOURCE, *catalogue.ignore) for arg in ("--ignore", pattern)]
            command = [sys.executable, str(copy / "manage.py"), "makemessages", "-l", LANGUAGE, "-d", domain]
            subprocess.run(
                [*command, "--no-location", *ignores],
                cwd=copy / catalogue.source,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            po = catalogue.po(copy, domain)
            if po.exists():
                found[catalogue.name, domain] = polib.pofile(str(po))
    return found


def _key(entry: polib.POEntry | polib.MOEntry) -> tuple[str, str]:
    return entry.msgctxt or "", entry.msgid


def _label(key: tuple[str, str]) -> str:
    context, msgid = key
    return f"[{context}] {msgid!r}" if context else repr(msgid)


def _committed(catalogue: Catalogue, domain: str) -> polib.POFile | None:
    path = catalogue.po(ROOT, domain)
    return polib.pofile(str(path)) if path.exists() else None


def _translations(entry: polib.POEntry) -> list[str]:
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


def _is_translated(entry: polib.POEntry) -> bool:
    return not entry.fuzzy and not entry.obsolete and all(text.strip() for text in _translations(entry))


def _failure(title: str, catalogue: Catalogue, domain: str, items: list[str]) -> str:
    where = catalogue.po(Path("."), domain)
    return f"{len(items)} {title} in {where}:\n  " + "\n  ".join(items)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda catalogue: catalogue.name)
def test_every_text_in_the_code_has_its_japanese_translation(extracted, catalogue, domain):
    wanted = extracted.get((catalogue.name, domain))
    if wanted is None:
        return  # no translatable text of this domain here
    committed = _committed(catalogue, domain)
    translated = {_key(entry) for entry in committed if _is_translated(entry)} if committed else set()
    missing = [_label(_key(entry)) for entry in wanted if entry.msgid and _key(entry) not in translated]
    assert not missing, _failure("texts without a Japanese translation", catalogue, domain, missing)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda catalogue: catalogue.name)
def test_no_entry_is_fuzzy_or_empty(catalogue, domain):
    committed = _committed(catalogue, domain)
    if committed is None:
        return
    live = [entry for entry in committed if not entry.obsolete and entry.msgid]
    fuzzy = [_label(_key(entry)) for entry in live if entry.fuzzy]
    empty = [_label(_key(entry)) for entry in live if not any(text.strip() for text in _translations(entry))]
    assert not fuzzy, _failure("fuzzy entries", catalogue, domain, fuzzy)
    assert not empty, _failure("empty entries", catalogue, domain, empty)


_PLACEHOLDER = re.compile(r"%\([a-zA-Z_]\w*\)[sdif]|%[sdif]|\{[a-zA-Z_]\w*\}")


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda catalogue: catalogue.name)
def test_every_translation_keeps_its_placeholders(catalogue, domain):
    committed = _committed(catalogue, domain)
    if committed is None:
        return
    lost = []
    for entry in committed:
        if entry.obsolete or not entry.msgid:
            continue
        wanted = sorted(_PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for text in _translations(entry):
            if text and sorted(_PLACEHOLDER.findall(text)) != wanted:
                lost.append(f"{_label(_key(entry))} -> {text!r}")
    assert not lost, _failure("translations that change the placeholders", catalogue, domain, lost)


def _compiled(entries: list[polib.POEntry] | polib.MOFile) -> dict[tuple[str, str], tuple[str, ...]]:
    return {
        _key(entry): tuple(entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural))
        if entry.msgid_plural
        else (entry.msgstr,)
        for entry in entries
        if entry.msgid
    }


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda catalogue: catalogue.name)
def test_the_compiled_catalogue_is_what_its_po_compiles_to(catalogue, domain):
    committed = _committed(catalogue, domain)
    if committed is None:
        return
    mo_path = catalogue.po(ROOT, domain).with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path.relative_to(ROOT)} is missing: run manage.py compilemessages"
    # What msgfmt writes: the translated entries, fuzzy and empty ones left out.
    expected = _compiled([entry for entry in committed if _is_translated(entry)])
    actual = _compiled(polib.mofile(str(mo_path)))
    stale = sorted(_label(key) for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key))
    assert not stale, _failure(
        "entries where the .mo differs from the .po (run manage.py compilemessages)", catalogue, domain, stale
    )
