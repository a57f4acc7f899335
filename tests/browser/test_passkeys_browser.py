"""Passkeys in real Chromium, with the DevTools Protocol's virtual authenticator.

The authenticator is a platform one (internal transport, CTAP2) that keeps
discoverable credentials and verifies the user, as a laptop's fingerprint reader
does: register a passkey, sign out, sign in without a password (the button and the
email field's suggestion), confirm a reveal with it (sudo mode), then remove it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent, Passkey, User
from tests.browser.helpers import (
    add_passkey,
    dialog,
    end_sudo_mode,
    passkeys_url,
    virtual_authenticator,
    watch_console,
)
from tests.conftest import PASSWORD
from tests.factories import issue

pytestmark = [pytest.mark.playwright, pytest.mark.usefixtures("webauthn_live_server")]


def sign_out(page: Page) -> None:
    page.locator(".user-menu summary").click()
    page.get_by_role("menuitem", name="Sign out").click()


def test_register_sign_in_passwordless_confirm_a_reveal_and_remove(
    signed_in_page, live_server, admin_user: User, workspace, retrievable
):
    token, secret = issue(admin_user, workspace, "ci-deploy")
    page = signed_in_page(admin_user)
    errors = watch_console(page)
    virtual_authenticator(page)

    # Register: the name, then the browser's ceremony; the list shows it.
    page.goto(passkeys_url(live_server))
    expect(page.get_by_role("heading", name="No passkeys yet")).to_be_visible()
    add_passkey(page, "Work laptop")
    passkey = Passkey.objects.get()
    assert (passkey.user, passkey.discoverable) == (admin_user, True)
    assert passkey.transports == ["internal"]

    # Sign out, then sign in with the button: no email, no password. This browser offers
    # no suggestions in the email field (the next test has them), so the button is needed.
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = async () => false")
    sign_out(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{live_server.url}/accounts/login/?next=/w/{workspace.slug}/settings/tokens/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    # The URL changes when the page starts loading: its buttons work once its scripts ran.
    page.wait_for_load_state()
    assert AuditEvent.objects.filter(action="signin.passkey", actor_user=admin_user).count() == 1
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None

    # Sudo mode with the passkey: reveal asks who it is; "Use a passkey instead" answers.
    page.locator(f"#reveal-{token.public_id}").click()
    expect(dialog(page).get_by_role("heading", name="Confirm it is you")).to_be_visible()
    dialog(page).get_by_role("button", name="Use a passkey instead").click()
    expect(dialog(page).get_by_role("heading", name="Token value")).to_be_visible()
    expect(dialog(page).locator("[data-secret-code]")).to_have_text(secret)
    event = AuditEvent.objects.filter(action="sudo.confirmed").latest("pk")
    assert event.details == {"method": "passkey"}  # the first was the password, to add it
    page.keyboard.press("Escape")

    # Remove it: the last factor, so sudo mode is not enough: the password and the passkey.
    page.goto(passkeys_url(live_server))
    page.get_by_role("link", name="Remove Work laptop").click()
    expect(dialog(page).get_by_role("heading", name="Remove passkey")).to_be_visible()
    expect(dialog(page)).to_contain_text("This is your only second factor")
    dialog(page).get_by_label("Your password").fill(PASSWORD)
    dialog(page).get_by_role("button", name="Use a passkey instead").click()
    expect(dialog(page)).to_be_hidden()
    expect(page.get_by_role("heading", name="No passkeys yet")).to_be_visible()
    assert not Passkey.objects.exists()
    assert errors == []


def test_the_email_field_suggests_the_passkey(
    signed_in_page, live_server, admin_user: User, new_context
):
    """Conditional mediation: the sign-in starts from the email field's suggestion.

    The virtual authenticator answers a conditional request at once (presence is
    simulated), as if the person picked the suggestion.
    """
    login = new_context().new_page()
    login.goto(f"{live_server.url}/accounts/login/")
    expect(login.get_by_label("Email")).to_have_attribute("autocomplete", "username webauthn")
    page = signed_in_page(admin_user)
    virtual_authenticator(page)
    page.goto(passkeys_url(live_server))
    add_passkey(page, "Phone")
    # Signing out lands on the login page, whose email field asks for suggestions at once.
    sign_out(page)
    expect(page).to_have_url(f"{live_server.url}/w/acme/")
    assert AuditEvent.objects.filter(action="signin.passkey").count() == 1


def test_a_refused_ceremony_says_why_in_the_dialog(signed_in_page, live_server, admin_user: User):
    """The same authenticator twice: the browser refuses (excludeCredentials); the dialog says."""
    page = signed_in_page(admin_user)
    virtual_authenticator(page)
    page.goto(passkeys_url(live_server))
    add_passkey(page, "Laptop")
    page.get_by_role("link", name="Add a passkey").click()  # still in sudo mode
    dialog(page).get_by_label("Name").fill("Laptop again")
    dialog(page).get_by_role("button", name="Continue").click()
    expect(dialog(page).get_by_role("alert")).to_have_text(
        "This device or security key already holds a passkey for your account."
    )
    expect(dialog(page).get_by_role("button", name="Continue")).to_be_enabled()
    assert Passkey.objects.count() == 1


def test_without_webauthn_the_pages_say_so(signed_in_page, live_server, admin_user: User, page):
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("[data-passkey-login] [data-passkey-status]")).to_contain_text(
        "This browser cannot use passkeys"
    )
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_disabled()
    # The password form still works.
    page.get_by_label("Email").fill(admin_user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(passkeys_url(live_server))
    expect(page.locator("[data-webauthn-unsupported]")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(scheme, signed_in_page, live_server, admin_user, screenshots_dir, new_context):
    page = signed_in_page(admin_user, color_scheme=scheme, viewport={"width": 1280, "height": 800})
    virtual_authenticator(page)
    page.goto(passkeys_url(live_server))
    page.screenshot(path=screenshots_dir / f"passkeys-empty-{scheme}.png", full_page=True)
    add_passkey(page, "Work laptop")
    # A security key used as a second factor, stored as registering one would.
    laptop = Passkey.objects.get()
    Passkey.objects.create(
        user=admin_user,
        name="YubiKey 5C",
        credential_id=b"yubikey-credential",
        public_key=bytes(laptop.public_key),
        user_handle=bytes(laptop.user_handle),
        transports=["usb", "nfc"],
        last_used_at=timezone.now() - timedelta(days=3),
    )
    page.reload()
    expect(page.get_by_role("table", name="Your passkeys")).to_contain_text("3 days ago")
    page.screenshot(path=screenshots_dir / f"passkeys-{scheme}.png", full_page=True)

    page.get_by_role("link", name="Add a passkey").click()
    expect(dialog(page).get_by_label("Name")).to_be_focused()
    page.screenshot(path=screenshots_dir / f"passkeys-add-dialog-{scheme}.png")
    page.keyboard.press("Escape")

    page.get_by_role("link", name="Rename YubiKey 5C").click()
    expect(dialog(page).get_by_label("Name")).to_have_value("YubiKey 5C")
    page.screenshot(path=screenshots_dir / f"passkeys-rename-dialog-{scheme}.png")
    page.keyboard.press("Escape")

    end_sudo_mode(page)  # adding the passkey started it: the prompt is what this shows
    page.get_by_role("link", name="Remove YubiKey 5C").click()
    expect(dialog(page).get_by_role("button", name="Use a passkey instead")).to_be_visible()
    page.screenshot(path=screenshots_dir / f"passkeys-remove-dialog-{scheme}.png")
    page.keyboard.press("Escape")

    login = new_context(color_scheme=scheme, viewport={"width": 1280, "height": 800}).new_page()
    login.goto(f"{live_server.url}/accounts/login/")
    expect(login.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    login.screenshot(path=screenshots_dir / f"login-passkey-{scheme}.png", full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_passkey_is_the_second_step_after_the_password(
    scheme, signed_in_page, live_server, admin_user: User, workspace, screenshots_dir
):
    page = signed_in_page(admin_user)
    page.emulate_media(color_scheme=scheme)
    virtual_authenticator(page)
    page.goto(passkeys_url(live_server))
    add_passkey(page, "Security key")
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = async () => false")
    sign_out(page)

    page.goto(f"{live_server.url}/accounts/login/?next=/w/{workspace.slug}/settings/tokens/")
    page.locator("#id_username").fill(admin_user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.screenshot(path=screenshots_dir / f"two-factor-passkey-{scheme}.png", full_page=True)
    page.get_by_role("button", name="Use your passkey").click()
    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    event = AuditEvent.objects.get(action="signin.two_factor")
    assert event.actor_user == admin_user and event.details == {"method": "passkey"}
