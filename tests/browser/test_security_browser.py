"""Account → Security in real Chromium: set up an authenticator app, then sign in with it.

The test reads the key the page shows for manual entry and computes the codes
itself (tests/accounts/otp.py, from RFC 6238), as a phone would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.signin import factors
from tests.accounts.otp import key_from_text, totp
from tests.browser.helpers import watch_console
from tests.conftest import PASSWORD

pytestmark = pytest.mark.playwright

CLIPBOARD = ["clipboard-read", "clipboard-write"]


def _sign_in_with_password(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/account/security/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_set_up_an_authenticator_then_sign_in_with_it(
    signed_in_page, live_server, member_user, screenshots_dir, scheme
):
    base = live_server.url
    page = signed_in_page(
        member_user,
        color_scheme=scheme,
        viewport={"width": 1100, "height": 860},
        permissions=CLIPBOARD,
    )
    errors = watch_console(page)

    def shoot(name: str, **options) -> None:
        page.screenshot(path=screenshots_dir / f"security-{name}-{scheme}.png", **options)

    # The user menu leads to Security.
    page.goto(f"{base}/")
    page.get_by_label(f"Account menu for {member_user.email}").click()
    page.get_by_role("menuitem", name="Security").click()
    expect(page).to_have_url(f"{base}/account/security/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    shoot("page-off", full_page=True)

    # Set up: the QR code is an inline SVG with an accessible name; the key is there as text.
    page.get_by_role("link", name="Set up an authenticator app").click()
    page.get_by_label("Your password").fill(PASSWORD)  # the set-up asks who it is first
    shoot("setup-sudo", full_page=True)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    key = key_from_text(page.locator("code.totp-key").inner_text())
    shoot("setup", full_page=True)
    page.get_by_label("Code from the app").fill("000000" if totp(key) != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.locator(".field-invalid .errors")).to_contain_text("That code is not right")
    expect(page.get_by_label("Code from the app")).to_be_focused()
    shoot("setup-error", full_page=True)
    page.get_by_label("Code from the app").fill(totp(key))
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    # Ten recovery codes, once; Copy puts them on the clipboard.
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied the codes to the clipboard.")
    clipboard = page.evaluate("navigator.clipboard.readText()")
    assert all(code in clipboard for code in codes)
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download .txt").click()
    saved = downloading.value
    assert saved.suggested_filename == "keyward-recovery-codes.txt"
    text = Path(saved.path()).read_text(encoding="utf-8")
    assert text.startswith(f"Keyward recovery codes for {member_user.email}\n")
    assert all(f"\n{code}\n" in text or text.endswith(f"{code}\n") for code in codes)
    shoot("recovery-codes", full_page=True)
    page.get_by_role("link", name="I saved them").click()
    expect(page.locator("#two-factor-heading + p")).to_contain_text("On")
    expect(page.get_by_text("10 of 10 left.")).to_be_visible()
    shoot("page-on", full_page=True)
    assert factors.has_two_factor(member_user)

    # Sign out, sign in: the password, then the code step.
    page.get_by_label(f"Account menu for {member_user.email}").click()
    page.get_by_role("menuitem", name="Sign out").click()
    _sign_in_with_password(page, base, member_user.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    code_field = page.get_by_label("Authentication code")
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    shoot("two-factor-step")
    code_field.fill("000000" if totp(key, steps_off=1) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert").or_(page.locator(".errors"))).to_contain_text(
        "That code is not right"
    )
    shoot("two-factor-step-error")
    page.get_by_role("link", name="Use a recovery code").click()
    expect(page.get_by_label("Recovery code")).to_be_visible()
    shoot("two-factor-recovery")
    page.get_by_role("link", name="Use your authenticator app").click()
    page.get_by_label("Authentication code").fill(totp(key, steps_off=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base}/account/security/")  # next was kept
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    assert errors == []


def test_sign_in_with_a_recovery_code_then_remove_the_app(
    signed_in_page, live_server, member_user, screenshots_dir
):
    from tests.accounts.otp import enrol_totp

    key, codes = enrol_totp(member_user)
    base = live_server.url
    page = signed_in_page(member_user, viewport={"width": 1100, "height": 860})
    page.context.clear_cookies()
    _sign_in_with_password(page, base, member_user.email)
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base}/account/security/")
    expect(page.get_by_text("9 of 10 left.")).to_be_visible()

    page.get_by_role("link", name="Remove authenticator app").click()
    expect(page.get_by_text("This is your only second factor")).to_be_visible()
    page.screenshot(path=screenshots_dir / "security-remove-light.png", full_page=True)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("A code from the app, or a recovery code").fill(totp(key, steps_off=1))
    page.get_by_role("button", name="Remove authenticator app").click()
    expect(page).to_have_url(f"{base}/account/security/")
    expect(page.get_by_role("link", name="Set up an authenticator app")).to_be_visible()
    expect(page.locator("#two-factor-heading + p")).to_contain_text(re.compile("Off"))
    assert not factors.has_two_factor(member_user)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_code_from_the_app_confirms_a_reveal(
    signed_in_page, live_server, admin_user, workspace, retrievable, screenshots_dir, scheme
):
    from tests.accounts.otp import enrol_totp
    from tests.browser.helpers import dialog
    from tests.factories import issue

    token, secret = issue(admin_user, workspace, "ci-deploy")
    key, _ = enrol_totp(admin_user)
    page = signed_in_page(admin_user, color_scheme=scheme, viewport={"width": 1280, "height": 800})
    errors = watch_console(page)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    page.locator(f"#reveal-{token.public_id}").click()
    expect(dialog(page).get_by_role("heading", name="Confirm it is you")).to_be_visible()
    expect(dialog(page).get_by_label("Your password")).to_be_focused()
    code = dialog(page).get_by_label("Or a code from your authenticator app")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    page.screenshot(path=screenshots_dir / f"security-sudo-with-code-{scheme}.png")
    code.fill(totp(key, steps_off=1))
    page.keyboard.press("Enter")
    expect(dialog(page).locator("[data-secret-code]")).to_have_text(secret)
    assert errors == []
