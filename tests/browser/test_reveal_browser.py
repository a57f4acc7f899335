"""Sudo-mode reveal and copy of a stored token, and Check a token, in real Chromium.

The workspace keeps encrypted copies (retrievable reveal policy, set before the token
is issued). An Admin copies a token from its row: Keyward asks for the password once,
copies the value to the clipboard, and does not ask again while sudo mode lasts.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent, Workspace
from tests.browser.helpers import dialog, watch_console
from tests.conftest import PASSWORD
from tests.factories import issue
from tokens.models import RevokeReason, Token, TokenKind

pytestmark = pytest.mark.playwright

CLIPBOARD = ["clipboard-read", "clipboard-write"]
MASKED = re.compile(r"^kww_[A-Za-z0-9_]*•+[A-Za-z0-9_]{4}$")


def secret_code(page: Page):
    return dialog(page).locator("[data-secret-code]")


def password_field(page: Page):
    return dialog(page).get_by_label("Your password")


@pytest.fixture
def stored(retrievable, admin_user, workspace) -> tuple[Token, str]:
    """Return (token, secret) of a workspace token whose copy Keyward keeps."""
    token, secret = issue(admin_user, workspace, "ci-deploy")
    assert token.encrypted_secret  # the policy was set first
    return token, secret


@pytest.fixture
def tokens_url(live_server, workspace: Workspace) -> str:
    return f"{live_server.url}/w/{workspace.slug}/settings/tokens/"


# Copy, then reveal, with one password confirmation ------------------------------------------


def test_copy_asks_for_the_password_once_then_reveal_does_not(
    signed_in_page, tokens_url, admin_user, stored
):
    token, secret = stored
    page = signed_in_page(admin_user, permissions=CLIPBOARD)
    errors = watch_console(page)
    page.goto(tokens_url)
    page.evaluate("window.__keywardNoReload = true")
    page.evaluate("navigator.clipboard.writeText('')")
    copy = page.locator(f"#copy-{token.public_id}")
    reveal = page.locator(f"#reveal-{token.public_id}")
    expect(copy).to_have_accessible_name("Copy ci-deploy")
    expect(reveal).to_have_accessible_name("Reveal ci-deploy")

    # Copy: the password dialog opens in the modal, focus in the password field.
    copy.click()
    expect(dialog(page).get_by_role("heading", name="Confirm your password")).to_be_visible()
    expect(dialog(page)).to_contain_text("To copy ci-deploy")
    expect(password_field(page)).to_be_focused()
    expect(password_field(page)).to_have_attribute("type", "password")

    # A wrong password: the error is next to the field, focus stays in it, no value.
    password_field(page).fill("not-my-password")
    page.keyboard.press("Enter")
    field = dialog(page).locator(".field", has=page.get_by_label("Your password"))
    expect(field.locator(".errors")).to_have_text("This is not your password.")
    expect(field).to_have_class(re.compile(r"\bfield-invalid\b"))
    expect(password_field(page)).to_be_focused()
    expect(password_field(page)).to_have_value("")
    expect(dialog(page).locator("[data-secret-code]")).to_have_count(0)

    # The right password: the value dialog, and the value on the clipboard.
    password_field(page).fill(PASSWORD)
    dialog(page).get_by_role("button", name="Confirm").click()
    expect(dialog(page).get_by_role("heading", name="Token value")).to_be_visible()
    expect(dialog(page).locator("[data-copy-status]")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    expect(secret_code(page)).to_have_text(MASKED)  # copying does not show it
    expect(dialog(page).get_by_role("link", name="Done")).to_be_focused()

    # Escape closes it; focus goes back to the Copy button; the value leaves the page.
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(copy).to_be_focused()
    expect(page.locator("[data-secret-code]")).to_have_count(0)
    assert secret not in page.content()

    # Reveal: no password this time (sudo mode), the value is shown in the code block.
    reveal.click()
    expect(dialog(page).get_by_role("heading", name="Token value")).to_be_visible()
    expect(dialog(page).get_by_role("heading", name="Confirm your password")).to_have_count(0)
    expect(secret_code(page)).to_have_text(secret)
    expect(dialog(page).get_by_role("button", name="Hide token")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(reveal).to_be_focused()

    assert page.evaluate("window.__keywardNoReload === true"), "the page was reloaded"
    assert errors == []
    events = AuditEvent.objects.filter(target_id=token.public_id, action="token.revealed")
    assert sorted(e.details["purpose"] for e in events) == ["copy", "reveal"]
    assert AuditEvent.objects.filter(action="sudo.confirmed", actor_user=admin_user).count() == 1


def test_cancel_in_the_password_dialog_shows_nothing(
    signed_in_page, tokens_url, admin_user, stored
):
    token, secret = stored
    page = signed_in_page(admin_user)
    page.goto(tokens_url)
    reveal = page.locator(f"#reveal-{token.public_id}")

    reveal.click()
    expect(password_field(page)).to_be_focused()
    dialog(page).get_by_role("link", name="Cancel").click()

    expect(dialog(page)).to_be_hidden()
    expect(reveal).to_be_focused()
    assert secret not in page.content()
    assert not AuditEvent.objects.filter(action="token.revealed").exists()


def test_members_get_no_reveal_or_copy_buttons_for_workspace_tokens(
    signed_in_page, tokens_url, member_user, stored
):
    token, _ = stored
    page = signed_in_page(member_user)
    page.goto(tokens_url)

    row = page.locator(f"#token-{token.public_id}")
    expect(row).to_be_visible()
    expect(row.locator(f"#reveal-{token.public_id}")).to_have_count(0)
    expect(row.locator(f"#copy-{token.public_id}")).to_have_count(0)


# Check a token ----------------------------------------------------------------------------


def test_check_a_token_then_revoke_it_as_leaked(signed_in_page, tokens_url, admin_user, workspace):
    token, secret = issue(admin_user, workspace, "ci-deploy")
    bystander, _ = issue(admin_user, workspace, "nightly-backup")
    page = signed_in_page(admin_user)
    errors = watch_console(page)
    page.goto(f"{tokens_url}?status=all")  # all statuses: the revoked row stays listed
    page.evaluate("window.__keywardNoReload = true")
    check = page.locator("#check-token")
    row = page.locator(f"#token-{token.public_id}")
    expect(row.locator(".status")).to_have_text("Active")

    check.click()
    expect(dialog(page).get_by_role("heading", name="Check a token")).to_be_visible()
    value = dialog(page).get_by_label("Token value")
    expect(value).to_be_focused()
    expect(value).to_have_attribute("type", "password")

    # A typo first: the error is next to the field.
    value.fill(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    dialog(page).get_by_role("button", name="Check").click()
    field = dialog(page).locator(".field", has=page.get_by_label("Token value"))
    expect(field.locator(".errors")).to_contain_text("This is not a Keyward token")
    expect(value).to_be_focused()
    expect(value).to_have_value("")  # the pasted value is never sent back

    value.fill(secret)
    dialog(page).get_by_role("button", name="Check").click()
    result = dialog(page).locator(".check-result")
    expect(result).to_contain_text("This value is ci-deploy")
    expect(result).to_contain_text(token.censored)
    expect(result.locator(".status")).to_have_text("Active")
    revoke = dialog(page).get_by_role("button", name="Revoke as leaked")
    expect(revoke).to_be_focused()
    assert secret not in page.content()

    revoke.click()
    expect(dialog(page)).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text("Token ci-deploy revoked as leaked.")
    expect(row.locator(".status")).to_have_text("Revoked")
    expect(row).to_contain_text("Leaked")
    expect(row.get_by_role("link", name="Revoke ci-deploy")).to_have_count(0)
    expect(page.locator(f"#token-{bystander.public_id} .status")).to_have_text("Active")
    expect(check).to_be_focused()
    assert page.evaluate("window.__keywardNoReload === true"), "the page was reloaded"
    assert errors == []
    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK


def test_a_manager_checking_an_admins_personal_token_is_told_to_ask_an_admin(
    signed_in_page, tokens_url, admin_user, manager_user, workspace
):
    _, secret = issue(admin_user, workspace, "ada-laptop", kind=TokenKind.PERSONAL)
    page = signed_in_page(manager_user)
    page.goto(tokens_url)

    page.locator("#check-token").click()
    dialog(page).get_by_label("Token value").fill(secret)
    dialog(page).get_by_role("button", name="Check").click()

    expect(dialog(page).locator(".check-result")).to_contain_text("This value is ada-laptop")
    expect(dialog(page)).to_contain_text(
        "Your role may not revoke this token; ask one of the Admins."
    )
    expect(dialog(page).get_by_role("button", name="Revoke as leaked")).to_have_count(0)
    expect(dialog(page).get_by_role("link", name="Close").last).to_be_focused()


# Looks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_sudo_value_and_check_dialogs(
    scheme, signed_in_page, tokens_url, admin_user, workspace, retrievable, screenshots_dir
):
    token, secret = issue(admin_user, workspace, "ci-deploy", scopes=["tokens:read"])
    issue(admin_user, workspace, "grafana-reader", scopes=["tokens:read"])
    page = signed_in_page(
        admin_user,
        color_scheme=scheme,
        viewport={"width": 1280, "height": 800},
        permissions=CLIPBOARD,
    )
    page.goto(tokens_url)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    shots = []

    def shoot(name: str) -> None:
        path = screenshots_dir / f"reveal-{name}-{scheme}.png"
        page.screenshot(path=path)
        shots.append(path)

    page.locator(f"#reveal-{token.public_id}").click()
    expect(password_field(page)).to_be_focused()
    shoot("sudo")
    password_field(page).fill("wrong")
    page.keyboard.press("Enter")
    expect(dialog(page).locator(".errors")).to_be_visible()
    shoot("sudo-error")
    password_field(page).fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(secret_code(page)).to_have_text(secret)
    shoot("value")
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()

    page.locator(f"#copy-{token.public_id}").click()
    expect(dialog(page).locator("[data-copy-status]")).to_contain_text("Copied")
    shoot("value-copied")
    page.keyboard.press("Escape")

    page.locator("#check-token").click()
    expect(dialog(page).get_by_label("Token value")).to_be_focused()
    shoot("check")
    dialog(page).get_by_label("Token value").fill("ghp_notours")
    dialog(page).get_by_role("button", name="Check").click()
    expect(dialog(page).locator(".errors")).to_be_visible()
    shoot("check-error")
    dialog(page).get_by_label("Token value").fill(secret)
    dialog(page).get_by_role("button", name="Check").click()
    expect(dialog(page).get_by_role("button", name="Revoke as leaked")).to_be_focused()
    shoot("check-result")

    for path in shots:
        assert path.stat().st_size > 0
