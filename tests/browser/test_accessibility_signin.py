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

from accounts.invitation_links import invitation_link_token
from accounts.models import Invitation, Passkey, TwoFactorPolicy, User, Workspace
from accounts.roles import Role
from tests.accounts.otp import enrol_totp
from tests.browser.accessibility import assert_accessible, assert_focus_visible
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


def test_login_pages(subtests, request, anonymous, live_server, admin_user):
    with subtests.test("login"):
        anonymous.goto(f"{live_server.url}/accounts/login/")
        expect(anonymous.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
        assert_accessible(anonymous, "login")
        assert assert_focus_visible(anonymous, "login") >= 5
    with subtests.test("login with a wrong password"):
        submit_password(anonymous, live_server.url, admin_user.email, "not-the-password")
        expect(anonymous.get_by_role("alert").filter(has_text="do not match")).to_be_visible()
        assert_accessible(anonymous, "login-wrong-password")
    with subtests.test("not found, signed out"):
        assert anonymous.goto(f"{live_server.url}/no-such-page/").status == 404
        expect(anonymous.get_by_role("heading", name="Page not found")).to_be_visible()
        assert_accessible(anonymous, "not-found-signed-out")
    with subtests.test("login with single sign-on"):
        request.getfixturevalue("oidc_provider")
        anonymous.goto(f"{live_server.url}/accounts/login/")
        expect(anonymous.get_by_role("link", name="Sign in with SSO")).to_be_visible()
        assert_accessible(anonymous, "login-sso")


def test_second_step(subtests, anonymous, live_server, admin_user):
    page = anonymous
    enrol_totp(admin_user)
    submit_password(page, live_server.url, admin_user.email)
    with subtests.test("code"):
        expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
        assert_accessible(page, "two-factor-code")
    with subtests.test("wrong code"):
        page.get_by_label("Authentication code").fill("12345")
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_label("Authentication code")).to_be_focused()
        assert_accessible(page, "two-factor-code-error")
    with subtests.test("recovery code"):
        page.get_by_role("link", name="Use a recovery code").click()
        expect(page.get_by_label("Recovery code")).to_be_visible()
        assert_accessible(page, "two-factor-recovery-code")
    with subtests.test("passkey"):
        add_passkey(admin_user, "Security key")
        page.context.clear_cookies()
        submit_password(page, live_server.url, admin_user.email)
        expect(page.get_by_role("button", name="Use your passkey")).to_be_visible()
        assert_accessible(page, "two-factor-passkey")


BEFORE_FACTORS = {
    "security-off": "/account/security/",
    "totp-setup": "/account/security/totp/setup/",
    "passkeys-empty": "/account/security/passkeys/",
}
WITH_FACTORS = {
    "security-on": "/account/security/",
    "totp-remove": "/account/security/totp/remove/",
    "recovery-codes-regenerate": "/account/security/recovery-codes/regenerate/",
    "passkeys": "/account/security/passkeys/",
}
PASSKEY_DIALOGS = {
    "add": "Add a passkey",
    "rename": "Rename YubiKey 5C",
    "remove": "Remove YubiKey 5C",
}


def test_account_security(subtests, as_user, live_server, member_user):
    page = as_user(member_user)
    for name, path in BEFORE_FACTORS.items():
        with subtests.test(name):
            page.goto(live_server.url + path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert_accessible(page, name)
    with subtests.test("totp-setup with a wrong code"):
        page.goto(f"{live_server.url}/account/security/totp/setup/")
        qr_code = page.get_by_role("img", name="QR code for your authenticator app")
        password = page.get_by_label("Your password")
        expect(qr_code.or_(password)).to_be_visible()
        if password.is_visible():  # the setup may confirm who it is first (sudo mode)
            password.fill(PASSWORD)
            page.get_by_role("button", name="Continue").click()
        expect(qr_code).to_be_visible()
        page.get_by_label("Code from the app").fill("12345")
        page.get_by_role("button", name="Turn on two-factor authentication").click()
        expect(page.get_by_label("Code from the app")).to_be_focused()
        assert_accessible(page, "totp-setup-error")

    enrol_totp(member_user)
    with subtests.test("totp-remove of the last factor"):
        page.goto(f"{live_server.url}/account/security/totp/remove/")
        expect(page.get_by_text("This is your only second factor")).to_be_visible()
        page.get_by_role("button", name="Remove authenticator app").click()
        expect(page.locator("[aria-invalid=true]").first).to_be_focused()
        assert_accessible(page, "totp-remove-last-factor-error")
    add_passkey(member_user, "YubiKey 5C")
    for name, path in WITH_FACTORS.items():
        with subtests.test(name):
            page.goto(live_server.url + path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert_accessible(page, name)
            assert assert_focus_visible(page, name) >= 3
    for name, link in PASSKEY_DIALOGS.items():
        with subtests.test(f"passkeys-{name}-dialog"):
            page.get_by_role("link", name=link).click()
            expect(dialog(page).get_by_role("heading")).to_be_visible()
            expect(dialog(page).locator(":focus")).to_have_count(1)
            assert_accessible(page, f"passkeys-{name}-dialog", full_page=False)
            page.keyboard.press("Escape")
            expect(dialog(page)).to_be_hidden()
    with subtests.test("recovery-codes"):
        page.goto(f"{live_server.url}/account/security/recovery-codes/regenerate/")
        password = page.get_by_label("Your password")
        if password.is_visible():  # not asked again while sudo mode lasts
            password.fill(PASSWORD)
        page.get_by_role("button", name="Make new codes").click()
        expect(page.locator("[data-recovery-codes] code")).to_have_count(10)
        assert_accessible(page, "recovery-codes")


def test_sudo_prompt(subtests, as_user, live_server, admin_user, workspace, retrievable):
    token, _ = issue(admin_user, workspace, "ci-deploy")
    page = as_user(admin_user)
    for factors in ("password", "password-or-code"):
        if factors == "password-or-code":
            enrol_totp(admin_user)
        page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
        page.locator(f"#reveal-{token.public_id}").click()
        with subtests.test(f"sudo-{factors}"):
            expect(dialog(page).get_by_label("Your password")).to_be_focused()
            assert_accessible(page, f"sudo-{factors}", full_page=False)
        with subtests.test(f"sudo-{factors} with an error"):
            dialog(page).get_by_role("button", name="Confirm").click()
            password = dialog(page).get_by_label("Your password")
            expect(password).to_have_attribute("aria-invalid", "true")
            assert_accessible(page, f"sudo-{factors}-error", full_page=False)


def test_workspace_sign_in_settings(
    subtests, request, as_user, live_server, workspace: Workspace, admin_user, manager_user
):
    enrol_totp(admin_user)
    page = as_user(admin_user)
    with subtests.test("sso-settings-off"):
        page.goto(f"{live_server.url}/w/acme/settings/sso/")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page, "sso-settings-off")
    request.getfixturevalue("oidc_provider")
    with subtests.test("sso-settings-on"):
        page.goto(f"{live_server.url}/w/acme/settings/sso/")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page, "sso-settings-on")
    with subtests.test("policies with two-factor and SSO"):
        page.goto(f"{live_server.url}/w/acme/settings/policies/")
        expect(page.locator("#two-factor-policy")).to_be_visible()
        assert_accessible(page, "policies-with-two-factor")
    with subtests.test("two-factor required"):
        Workspace.objects.filter(pk=workspace.pk).update(
            two_factor_policy=TwoFactorPolicy.ADMINS_AND_MANAGERS
        )
        manager = as_user(manager_user)
        manager.goto(f"{live_server.url}/w/acme/settings/tokens/")
        expect(manager.get_by_role("heading", name="Acme requires it")).to_be_visible()
        assert_accessible(manager, "two-factor-required")


def test_password_reset_pages(subtests, anonymous, live_server, member_user):
    base = live_server.url
    page = anonymous
    with subtests.test("password-reset"):
        page.goto(f"{base}/accounts/password/reset/")
        assert_accessible(page, "password-reset")
    with subtests.test("password-reset-sent"):
        page.get_by_label("Email").fill(member_user.email)
        page.get_by_role("button", name="Send reset link").click()
        expect(page).to_have_url(f"{base}/accounts/password/reset/sent/")
        assert_accessible(page, "password-reset-sent")
    uid = urlsafe_base64_encode(force_bytes(member_user.pk))
    with subtests.test("password-reset-bad-link"):
        page.goto(f"{base}/accounts/password/reset/{uid}/not-a-token/")
        assert_accessible(page, "password-reset-bad-link")
    with subtests.test("password-reset-new-password-error"):
        token = default_token_generator.make_token(member_user)
        page.goto(f"{base}/accounts/password/reset/{uid}/{token}/")
        page.get_by_label("New password", exact=True).fill("short")
        page.get_by_label("New password confirmation").fill("other")
        page.get_by_role("button", name="Set password").click()
        expect(page.locator("[aria-invalid=true]").first).to_be_visible()
        assert_accessible(page, "password-reset-new-password-error")
    with subtests.test("password-reset-complete"):
        page.goto(f"{base}/accounts/password/reset/done/")
        assert_accessible(page, "password-reset-complete")


def test_other_account_pages(subtests, anonymous, as_user, live_server, workspace, admin_user):
    """Signing up, accepting an invitation, changing the password, making a workspace."""
    base = live_server.url
    invitation = Invitation.objects.create(
        workspace=workspace, email="new@example.com", role=Role.MEMBER, invited_by=admin_user
    )
    with subtests.test("signup"):
        anonymous.goto(f"{base}/accounts/signup/")
        assert_accessible(anonymous, "signup")
    with subtests.test("invitation"):
        anonymous.goto(f"{base}/invitations/{invitation_link_token(invitation)}/")
        expect(anonymous.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(anonymous, "invitation")
    with subtests.test("invitation with a broken link"):
        anonymous.goto(f"{base}/invitations/not-a-link/")
        assert_accessible(anonymous, "invitation-broken-link")
    with subtests.test("form expired (CSRF)"):
        anonymous.goto(f"{base}/accounts/login/")
        anonymous.context.clear_cookies()
        submit = anonymous.get_by_role("button", name="Sign in", exact=True)
        with anonymous.expect_response(f"{base}/accounts/login/") as sent:
            submit.click()
        assert sent.value.status == 403
        expect(anonymous.get_by_role("heading", name="This form has expired")).to_be_visible()
        assert_accessible(anonymous, "csrf-failure")
    page = as_user(admin_user)
    with subtests.test("password-change with an error"):
        page.goto(f"{base}/accounts/password/change/")
        page.get_by_label("Old password").fill("not-the-password")
        page.get_by_role("button").filter(has_text="password").last.click()
        expect(page.locator("[aria-invalid=true]").first).to_be_visible()
        assert_accessible(page, "password-change-error")
    with subtests.test("workspace-create"):
        page.goto(f"{base}/workspaces/new/")
        assert_accessible(page, "workspace-create")


def test_the_check_names_what_is_broken(anonymous):
    """The helper fails on a broken page, naming the rule, the element and the scheme."""
    anonymous.set_content(
        '<html lang="en"><title>Broken</title><style>@media (prefers-color-scheme: dark) '
        "{ p { color: #333; background: #222; } }</style><main><h1>Broken</h1>"
        '<label for="code">Code</label><input id="code" aria-invalid="true">'
        '<p class="errors">Wrong code</p><img src="data:," width="9" height="9">'
        '<p id="twice">One</p><p id="twice">Two</p></main></html>'
    )
    with pytest.raises(AssertionError) as failure:
        assert_accessible(anonymous, "broken")
    light, dark, ids, fields = str(failure.value).split("\nbroken")
    assert light.startswith("broken (light): 1 axe rule(s) broken\n- image-alt [critical]")
    assert "\n    img: " in light
    assert dark.startswith(" (dark): 1 axe rule(s) broken\n- color-contrast [serious]")
    assert "\n    p" in dark and "color: #333333" in dark
    assert ids == ": ids used more than once: twice"
    assert fields == ": invalid fields without their error in aria-describedby: code"
