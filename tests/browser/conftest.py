"""Browser fixtures: signed-in pages on the live server, without going through the form.

A session made by `Client().force_login` is copied into the browser context as its
session cookie (ISIC's approach); one test signs in through the real form instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page

from accounts.models import User, Workspace

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def sign_in(context: BrowserContext, user: User, live_server_url: str) -> None:
    """Give `context` a session for `user`, as if they had signed in."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server_url}]
    )


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """Start pytest-django's live server only once the test database exists.

    The server hands its request threads the test's in-memory SQLite connection
    only if that database is already set up when it starts. Session fixtures run
    first, so without this ordering the server could start on the unset-up
    database and each request thread would open (and leak) a connection of its own.
    """
    return live_server


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Point Playwright at the live server, so `page.goto("/w/acme/")` works.

    This also replaces pytest-playwright's fallback `base_url` fixture, an instance
    method on a plugin class that pytest 9.2 deprecates (an error under our
    warnings-as-errors).
    """
    return live_server.url


@pytest.fixture
def members_url(live_server, workspace: Workspace) -> str:
    """Return the absolute URL of the workspace's Settings → Members tab."""
    return f"{live_server.url}/w/{workspace.slug}/settings/members/"


@pytest.fixture
def signed_in_page(live_server, page: Page, new_context) -> Callable[..., Page]:
    """Return a factory: `signed_in_page(user, **context_args)` gives a page signed in as `user`.

    Without context arguments the test's own `page` is used (the first call only);
    with them (for example `color_scheme="dark"`), or on later calls, a fresh
    context is made, so two users can be signed in side by side.
    """
    used_default = False

    def factory(user: User, **context_args) -> Page:
        nonlocal used_default
        if not context_args and not used_default:
            used_default = True
            target = page
        else:
            target = new_context(**context_args).new_page()
        sign_in(target.context, user, live_server.url)
        return target

    return factory


@pytest.fixture
def screenshots_dir() -> Path:
    """Return the (gitignored) folder for screenshots, creating it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def webauthn_live_server(settings, live_server):
    """Passkeys belong to the live server's host ("localhost": WebAuthn refuses IP addresses)."""
    settings.KEYWARD_WEBAUTHN_ORIGIN = live_server.url
    settings.KEYWARD_WEBAUTHN_RP_ID = ""
    assert live_server.url.startswith("http://localhost:")
