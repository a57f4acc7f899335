"""What the browser tests share: the modal, a no-reload marker, console errors, tokens,
passkeys (a virtual authenticator) and sudo mode."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from playwright.sync_api import CDPSession, Locator, Page, expect

from tests.conftest import PASSWORD


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


def virtual_authenticator(page: Page, *, verified: bool = True) -> CDPSession:
    """Give the page's browser a platform authenticator; return the DevTools session."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": verified,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp


def passkeys_url(live_server) -> str:
    return f"{live_server.url}/account/security/passkeys/"


def add_passkey(page: Page, name: str, *, first: bool = True, confirm: bool = True) -> None:
    """Add a passkey from the Passkeys page: who it is (`confirm`: sudo mode is off), the
    name, the ceremony; the `first` one shows its recovery codes, then back to the list."""
    page.get_by_role("link", name="Add a passkey").click()
    if confirm:
        dialog(page).get_by_label("Your password").fill(PASSWORD)
        dialog(page).get_by_role("button", name="Continue").click()
    expect(dialog(page).get_by_label("Name")).to_be_focused()
    dialog(page).get_by_label("Name").fill(name)
    dialog(page).get_by_role("button", name="Continue").click()
    if first:
        expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
        expect(page.locator("[data-recovery-codes] li")).to_have_count(10)
        page.goto(page.url.replace("recovery-codes/new/", "passkeys/"))
    expect(page.get_by_role("table", name="Your passkeys")).to_contain_text(name)
