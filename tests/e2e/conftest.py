"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, the connection to a sandbox.

Playwright's sync API runs an event loop in the test's thread; the live server's ORM calls are safe.
"""

import os
from pathlib import Path

import pytest

from syncjobs.mappings.services import mapping_reset_to_defaults
from syncjobs.models import IntegrationTableMapping
from tests.syncjobs import engine_support as support

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("The browser tests need Chromium at /usr/bin/chromium (`make browser` installs it).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        # The CRM sandbox serves HTTPS with its own test CA, which the browser does not know.
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, ignore_https_errors=True)
        page.set_default_timeout(30000)
        yield page
        browser.close()


@pytest.fixture
def connected(sandbox, settings, tmp_path, monkeypatch):
    """The enabled connection to ``sandbox``, the default mappings (a transactional test flushed the
    migration's), and jobs run at once in the request that queues them (django-q2's sync mode)."""
    from django_q.conf import Conf

    settings.DATA_DIR = tmp_path
    if not IntegrationTableMapping.objects.exists():
        mapping_reset_to_defaults()
    support.connect(sandbox)
    monkeypatch.setattr(Conf, "SYNC", True)
    return sandbox
