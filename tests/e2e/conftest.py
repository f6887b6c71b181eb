"""Browser fixtures: the app served for real (CSRF on), Debian Chromium driven by Playwright.

The browser talks to a second app built from the test settings with CSRF protection switched on,
so the htmx forms must send the token (``hx-headers:inherited`` on <body>) as they do in
production. It shares the database of the ``app`` fixture, whose autouse cleaner empties the
tables and resets the rate limits before each test.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.conftest import CHROMIUM, free_port, make_config, need

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def live_site(app, base_settings):
    """The site on http://127.0.0.1:<port>, in a daemon thread, with CSRF protection on.

    Yields (base URL, the served app)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    e2e_app = create_app(make_config(**{**base_settings, "WTF_CSRF_ENABLED": True, "BASE_URL": base_url}))
    server = make_server("127.0.0.1", port, e2e_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    yield base_url, e2e_app
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    need("Chromium", os.path.exists(CHROMIUM), f"install Debian's chromium package ({CHROMIUM} is missing)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(app, live_server, live_app, browser):
    """A fresh browser context (no cookies) per test, with the live server as base URL."""
    from app.extensions import cache

    with live_app.app_context():
        cache.clear()
    context = browser.new_context(base_url=live_server, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


PHONE = {"width": 390, "height": 844}


class Screenshots:
    """Pictures of the pages for docs/screenshots/, taken only when asked (``BC_SCREENSHOTS=1``, as
    ``make screenshots`` does): a plain test run leaves the tracked files alone."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.taken: list[Path] = []

    def take(self, page, name: str, phone: bool = False) -> None:
        """``<name>-desktop.png`` at the page's size and, with ``phone``, ``<name>-phone.png`` at 390x844."""
        if self.directory is None:
            return
        self._shoot(page, f"{name}-desktop.png")
        if phone:
            size = page.viewport_size
            page.set_viewport_size(PHONE)
            try:
                self._shoot(page, f"{name}-phone.png")
            finally:
                page.set_viewport_size(size)

    def _shoot(self, page, filename: str) -> None:
        path = self.directory / filename
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0, filename
        self.taken.append(path)


@pytest.fixture
def screenshots() -> Screenshots:
    if os.environ.get("BC_SCREENSHOTS") != "1":
        return Screenshots(None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return Screenshots(SCREENSHOTS)


@pytest.fixture(scope="session")
def live_server(live_site) -> str:
    return live_site[0]


@pytest.fixture
def live_app(live_site):
    """The Flask app that ``live_server`` serves.

    It has its own in-process cache (SimpleCache): changes made through the ``app`` fixture (such
    as ``upsert_books``) invalidate that app's cache, not this one. ``page`` clears it per test.
    """
    return live_site[1]
