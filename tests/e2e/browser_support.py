"""Helpers of the browser tests: log in through the login page, take a screenshot for a person to look at."""

from pathlib import Path
from urllib.parse import quote

from tests.factories import TEST_PASSWORD, UserFactory

SCREENSHOTS = Path("/tmp")  # noqa: S108 — screenshots for a person to look at


def log_in(page, live_server, next_path: str, *, perms: list[str] = (), user=None) -> None:
    """Log in through the login page as ``user`` (or a new user with ``perms``) and land on ``next_path``."""
    user = user or UserFactory(perms=list(perms))
    page.goto(f"{live_server.url}/accounts/login/?next={quote(next_path)}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
