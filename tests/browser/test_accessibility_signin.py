"""axe on every sign-in page and dialog of issue 12, light and dark, with screenshots.

Each test brings a page to one state (a form, its errors, an open dialog) and asks
tests/browser/accessibility.py to check it; the screenshots land in
artifacts/screenshots/a11y-<name>-<scheme>.png.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page, expect

from accounts.models import Passkey, TwoFactorPolicy, User, Workspace
from tests.accounts.otp import enrol_totp
from tests.browser.accessibility import assert_accessible
from tests.browser.helpers import dialog
from tests.conftest import PASSWORD
from tests.factories import issue

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 800}


def add_passkey(user: User, name: str) -> Passkey:
    """Store a passkey as registering one would (the pages only show it, never verify it)."""
    return Passkey.objects.create(
        user=user,
        name=name,
        credential_id=name.encode(),
        public_key=b"public-key",
        user_handle=b"user-handle",
        transports=["usb", "nfc"],
    )


@pytest.fixture
def anonymous(new_context) -> Page:
    return new_context(viewport=VIEWPORT).new_page()


@pytest.fixture
def as_user(signed_in_page) -> Callable[[User], Page]:
    return lambda user: signed_in_page(user, viewport=VIEWPORT)


def submit_password(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


@pytest.mark.parametrize("state", ["blank", "wrong-password"])
def test_login_page(state, anonymous, live_server, admin_user):
    if state == "blank":
        anonymous.goto(f"{live_server.url}/accounts/login/")
    else:
        submit_password(anonymous, live_server.url, admin_user.email, "not-the-password")
        expect(anonymous.get_by_role("alert").filter(has_text="do not match")).to_be_visible()
    expect(anonymous.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    assert_accessible(anonymous, f"login-{state}")


def test_login_page_with_single_sign_on(oidc_provider, anonymous, live_server):
    anonymous.goto(f"{live_server.url}/accounts/login/")
    expect(anonymous.get_by_role("link", name="Sign in with SSO")).to_be_visible()
    assert_accessible(anonymous, "login-sso")


@pytest.mark.parametrize("step", ["code", "code-error", "recovery-code", "passkey"])
def test_second_step(step, anonymous, live_server, admin_user):
    enrol_totp(admin_user)
    if step == "passkey":
        add_passkey(admin_user, "Security key")
    submit_password(anonymous, live_server.url, admin_user.email)
    expect(anonymous.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    if step == "code-error":
        anonymous.get_by_label("Authentication code").fill("12345")
        anonymous.get_by_role("button", name="Verify").click()
        expect(anonymous.get_by_label("Authentication code")).to_be_focused()
    elif step == "recovery-code":
        anonymous.get_by_role("link", name="Use a recovery code").click()
        expect(anonymous.get_by_label("Recovery code")).to_be_visible()
    elif step == "passkey":
        expect(anonymous.get_by_role("button", name="Use your passkey")).to_be_visible()
    assert_accessible(anonymous, f"two-factor-{step}")


ACCOUNT_PAGES = {
    "security-off": "/account/security/",
    "totp-setup": "/account/security/totp/setup/",
    "passkeys-empty": "/account/security/passkeys/",
}
ACCOUNT_PAGES_WITH_FACTORS = {
    "security-on": "/account/security/",
    "totp-remove": "/account/security/totp/remove/",
    "recovery-codes-regenerate": "/account/security/recovery-codes/regenerate/",
    "passkeys": "/account/security/passkeys/",
}


@pytest.mark.parametrize("name", [*ACCOUNT_PAGES, *ACCOUNT_PAGES_WITH_FACTORS])
def test_account_security_pages(name, as_user, live_server, member_user):
    if name in ACCOUNT_PAGES_WITH_FACTORS:
        enrol_totp(member_user)
        add_passkey(member_user, "YubiKey 5C")
    page = as_user(member_user)
    page.goto(live_server.url + {**ACCOUNT_PAGES, **ACCOUNT_PAGES_WITH_FACTORS}[name])
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page, name)


def test_totp_setup_with_a_wrong_code_then_the_recovery_codes(as_user, live_server, member_user):
    page = as_user(member_user)
    page.goto(f"{live_server.url}/account/security/totp/setup/")
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    page.get_by_label("Code from the app").fill("12345")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_label("Code from the app")).to_be_focused()
    assert_accessible(page, "totp-setup-error")

    enrol_totp(member_user)
    page.goto(f"{live_server.url}/account/security/recovery-codes/regenerate/")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Make new codes").click()
    expect(page.locator("[data-recovery-codes] code")).to_have_count(10)
    assert_accessible(page, "recovery-codes")


@pytest.mark.parametrize("action", ["add", "rename", "remove"])
def test_passkey_dialogs(action, as_user, live_server, member_user):
    enrol_totp(member_user)
    add_passkey(member_user, "YubiKey 5C")
    page = as_user(member_user)
    page.goto(f"{live_server.url}/account/security/passkeys/")
    link = {"add": "Add a passkey", "rename": "Rename YubiKey 5C", "remove": "Remove YubiKey 5C"}
    page.get_by_role("link", name=link[action]).click()
    expect(dialog(page).get_by_role("heading")).to_be_visible()
    expect(dialog(page).locator(":focus")).to_have_count(1)
    assert_accessible(page, f"passkeys-{action}-dialog", full_page=False)


@pytest.mark.parametrize("factors", ["password", "password-or-code"])
def test_sudo_prompt(factors, as_user, live_server, admin_user, workspace, retrievable):
    token, _ = issue(admin_user, workspace, "ci-deploy")
    if factors == "password-or-code":
        enrol_totp(admin_user)
    page = as_user(admin_user)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    page.locator(f"#reveal-{token.public_id}").click()
    expect(dialog(page).get_by_label("Your password")).to_be_focused()
    assert_accessible(page, f"sudo-{factors}", full_page=False)
    dialog(page).get_by_role("button", name="Confirm").click()
    expect(dialog(page).get_by_label("Your password")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, f"sudo-{factors}-error", full_page=False)


@pytest.mark.parametrize("configured", [False, True], ids=["sso-off", "sso-on"])
def test_workspace_sign_in_settings(configured, request, as_user, live_server, admin_user):
    if configured:
        request.getfixturevalue("oidc_provider")
    enrol_totp(admin_user)
    page = as_user(admin_user)
    page.goto(f"{live_server.url}/w/acme/settings/sso/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page, f"sso-settings-{'on' if configured else 'off'}")
    if configured:
        page.goto(f"{live_server.url}/w/acme/settings/policies/")
        expect(page.locator("#two-factor-policy")).to_be_visible()
        assert_accessible(page, "policies-with-two-factor")


def test_two_factor_required(as_user, live_server, workspace: Workspace, manager_user):
    Workspace.objects.filter(pk=workspace.pk).update(
        two_factor_policy=TwoFactorPolicy.ADMINS_AND_MANAGERS
    )
    page = as_user(manager_user)
    page.goto(f"{live_server.url}/w/acme/settings/tokens/")
    expect(page.get_by_role("heading", name="Acme requires it")).to_be_visible()
    assert_accessible(page, "two-factor-required")


def test_password_reset_pages(anonymous, live_server, member_user):
    base = live_server.url
    anonymous.goto(f"{base}/accounts/password/reset/")
    assert_accessible(anonymous, "password-reset")
    anonymous.get_by_label("Email").fill(member_user.email)
    anonymous.get_by_role("button").last.click()
    expect(anonymous).to_have_url(f"{base}/accounts/password/reset/sent/")
    assert_accessible(anonymous, "password-reset-sent")

    uid = urlsafe_base64_encode(force_bytes(member_user.pk))
    anonymous.goto(f"{base}/accounts/password/reset/{uid}/not-a-token/")
    assert_accessible(anonymous, "password-reset-bad-link")
    token = default_token_generator.make_token(member_user)
    anonymous.goto(f"{base}/accounts/password/reset/{uid}/{token}/")
    expect(anonymous.locator("input[type=password]").first).to_be_visible()
    anonymous.locator("input[type=password]").first.fill("short")
    anonymous.locator("input[type=password]").last.fill("other")
    anonymous.get_by_role("button").last.click()
    expect(anonymous.locator("[aria-invalid=true]").first).to_be_visible()
    assert_accessible(anonymous, "password-reset-new-password-error")
    anonymous.goto(f"{base}/accounts/password/reset/done/")
    assert_accessible(anonymous, "password-reset-complete")
