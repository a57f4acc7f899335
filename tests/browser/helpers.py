"""What the browser tests share: the modal, a no-reload marker, console errors, tokens."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from playwright.sync_api import Locator, Page


def dialog(page: Page) -> Locator:
    """Return the console's one modal dialog."""
    return page.locator("dialog#modal")


def mark_document(page: Page) -> None:
    """Leave a marker on `window` that a full page load would wipe."""
    page.evaluate("window.__keywardNoReload = true")


def assert_not_reloaded(page: Page) -> None:
    """Fail if the page was loaded again since mark_document."""
    assert page.evaluate("window.__keywardNoReload === true"), "the page was reloaded"


def watch_console(page: Page) -> list[str]:
    """Return a list that collects the page's console errors from now on."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def end_sudo_mode(page: Page) -> None:
    """Forget the page's sudo-mode stamp, as if its minutes had passed (the session stays)."""
    from accounts import sudo

    (key,) = [
        c["value"] for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME
    ]
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    store.pop(sudo.SESSION_KEY, None)
    store.save()
