"""A real browser for page tests: Debian's chromium driven by Playwright, and where screenshots go."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
# Headless, as root in CI, on a machine without a network beyond localhost.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def artifacts_dir() -> Path:
    """The folder CI keeps: screenshots of the pages a test walked."""
    path = Path(settings.BASE_DIR) / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Launch chromium for a test and close it after; skip the test where chromium is not installed."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    # Playwright's sync API keeps an event loop on this thread; the test's ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
