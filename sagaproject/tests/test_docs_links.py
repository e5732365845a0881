"""The README and docs/ link only to what exists in the repository.

A relative link must name an existing file and, with a `#fragment`, a heading of that file
(GitHub's anchors: lower case, punctuation dropped, spaces as hyphens, `-1`, `-2` for repeats).
No link may point outside the repository: not above its root, not to an absolute path.
"""

import re
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A translation (docs/ja/, ...) is reached through its own index, docs/<language>/README.md.
TRANSLATIONS = sorted((ROOT / "docs").glob("*/*.md"))

_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and [text](target "title"); images too.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without code blocks and inline code, where a bracket is not a link."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub gives the headings of a Markdown file."""
    seen: Counter[str] = Counter()
    result = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = _slug(heading)
        result.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return result


def links(path: Path) -> list[str]:
    return _LINK.findall(_prose(path.read_text(encoding="utf-8")))


def problems(path: Path) -> list[str]:
    """What is wrong with the links of one document, in words."""
    found = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            if target.lower().startswith("file:"):
                found.append(f"{target}: a file outside the repository")
            continue  # http(s), mailto: not ours to check
        file_part, _, fragment = target.partition("#")
        if file_part.startswith("/"):
            found.append(f"{target}: an absolute path, outside the repository")
            continue
        linked = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not linked.is_relative_to(ROOT):
            found.append(f"{target}: outside the repository")
            continue
        if not linked.exists():
            found.append(f"{target}: no such file")
            continue
        if fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            found.append(f"{target}: no heading with the anchor #{fragment} in {linked.relative_to(ROOT)}")
    return found


@pytest.mark.parametrize("document", DOCUMENTS + TRANSLATIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(document):
    assert problems(document) == []


def test_the_readme_links_every_document_in_docs():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(ROOT / "README.md")}
    assert [p.name for p in DOCUMENTS[1:] if p.resolve() not in linked] == []


def test_the_readme_links_each_translation_and_each_translation_links_its_pages():
    readme = {(ROOT / target.partition("#")[0]).resolve() for target in links(ROOT / "README.md")}
    unlinked = []
    for index in [p for p in TRANSLATIONS if p.name == "README.md"]:
        if index.resolve() not in readme:
            unlinked.append(str(index.relative_to(ROOT)))
        linked = {(index.parent / target.partition("#")[0]).resolve() for target in links(index)}
        pages = [p for p in TRANSLATIONS if p.parent == index.parent and p != index]
        unlinked += [str(p.relative_to(ROOT)) for p in pages if p.resolve() not in linked]
    assert unlinked == []


def test_the_readme_stays_a_front_door():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


def test_a_broken_link_an_unknown_anchor_and_a_way_out_are_each_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Second part\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/a.md#second-part) [gone](docs/b.md) [anchor](docs/a.md#third)\n"
        "[up](../elsewhere/NOTES.md) [abs](/etc/hosts) `[code](nowhere.md)` [web](https://example.com)\n"
        "```\n[fenced](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    (tmp_path.parent / "elsewhere").mkdir(exist_ok=True)
    (tmp_path.parent / "elsewhere" / "NOTES.md").write_text("# Notes\n", encoding="utf-8")
    assert problems(page) == [
        "docs/b.md: no such file",
        "docs/a.md#third: no heading with the anchor #third in docs/a.md",
        "../elsewhere/NOTES.md: outside the repository",
        "/etc/hosts: an absolute path, outside the repository",
    ]
