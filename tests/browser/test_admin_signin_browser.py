"""Django admin's sign-in sections in Chromium: a user's factors and a workspace's policies,
light and dark (screenshots), and a lost passkey removed from the user's page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.audit import audit_record
from accounts.models import AuditEvent, Passkey, WorkspaceSingleSignOn
from tests.accounts.otp import enrol_totp
from tests.accounts.test_admin_signin import add_passkey

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 900}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_operator_sees_factors_and_removes_a_lost_passkey(
    scheme, signed_in_page, live_server, operator, member_user, screenshots_dir
):
    enrol_totp(member_user)
    add_passkey(member_user, "Lost phone", transports=["internal", "hybrid"])
    add_passkey(member_user, "YubiKey 5", transports=["usb", "nfc"])
    audit_record(action="signin.sso", actor=member_user, details={"email": member_user.email})
    page: Page = signed_in_page(operator, color_scheme=scheme, viewport=VIEWPORT)

    page.goto(f"{live_server.url}/admin/accounts/user/{member_user.pk}/change/")
    expect(page.get_by_text("10 of 10 unused")).to_be_visible()
    expect(page.get_by_text("last signed in with SSO")).to_be_visible()
    page.get_by_role("heading", name="Sign-in factors").scroll_into_view_if_needed()
    factors = screenshots_dir / f"admin-user-factors-{scheme}.png"
    page.screenshot(path=factors, full_page=True)

    page.locator("#id_passkeys-0-DELETE").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert list(Passkey.objects.filter(user=member_user).values_list("name", flat=True)) == [
        "YubiKey 5"
    ]
    assert AuditEvent.objects.filter(action="factor.passkey_removed").count() == 1
    assert factors.stat().st_size > 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_a_workspaces_policies(
    scheme,
    oidc_provider,
    signed_in_page,
    live_server,
    operator,
    workspace,
    admin_user,
    screenshots_dir,
):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace, required=True, break_glass_admin=admin_user, jit_domains=["acme.test"]
    )
    page: Page = signed_in_page(operator, color_scheme=scheme, viewport=VIEWPORT)

    page.goto(f"{live_server.url}/admin/accounts/workspace/{workspace.pk}/change/")
    expect(page.get_by_label("Members must sign in with SSO")).to_be_checked()
    page.get_by_role("heading", name="Single sign-on").scroll_into_view_if_needed()
    policies = screenshots_dir / f"admin-workspace-policies-{scheme}.png"
    page.screenshot(path=policies, full_page=True)

    page.get_by_label("Just-in-time membership").check()
    page.get_by_label("Email domains").fill("not a domain")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Not an email domain: not a domain.")).to_be_visible()
    errors = screenshots_dir / f"admin-workspace-policies-error-{scheme}.png"
    page.screenshot(path=errors, full_page=True)
    assert not WorkspaceSingleSignOn.objects.get(workspace=workspace).jit_enabled
    assert policies.stat().st_size > 0 and errors.stat().st_size > 0
