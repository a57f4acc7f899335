"""The sudo prompt in real Chromium: a policy change and a reveal confirmed with a passkey (the
DevTools Protocol's virtual authenticator) under the strict CSP, and screenshots of the prompt."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent, User
from tests.accounts.otp import enrol_totp
from tests.browser.helpers import (
    add_passkey,
    dialog,
    end_sudo_mode,
    passkeys_url,
    virtual_authenticator,
    watch_console,
)
from tests.factories import issue
from tokens.models import WorkspacePolicy

pytestmark = [pytest.mark.playwright, pytest.mark.usefixtures("webauthn_live_server")]
VIEWPORT = {"width": 1280, "height": 900}


def with_passkey(
    signed_in_page, live_server, user: User, *, first: bool = True, **context_args
) -> Page:
    """Return a page of `user` whose browser holds a passkey of theirs, out of sudo mode."""
    page = signed_in_page(user, **context_args)
    virtual_authenticator(page)
    page.goto(passkeys_url(live_server))
    add_passkey(page, "Work laptop", first=first)
    end_sudo_mode(page)
    return page


def confirmations() -> list[str]:
    events = AuditEvent.objects.filter(action="sudo.confirmed").order_by("pk")
    return [event.details["method"] for event in events]


def test_a_policy_change_confirmed_with_a_passkey(
    signed_in_page, live_server, admin_user, workspace
):
    page = with_passkey(signed_in_page, live_server, admin_user)
    errors = watch_console(page)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/policies/")
    form = page.locator("form.policy-form").first
    form.get_by_label("Maximum lifetime").fill("45")
    form.get_by_label("Members may create personal tokens").uncheck()
    form.get_by_role("button", name="Use a passkey instead").click()
    expect(page.get_by_text("Policies saved.")).to_be_visible()
    policy = WorkspacePolicy.objects.get(workspace=workspace)
    assert (policy.max_lifetime_days, policy.members_may_create_personal) == (45, False)
    assert confirmations() == ["password", "passkey"]  # adding the passkey, then this
    assert errors == []


def test_a_reveal_confirmed_with_a_passkey_in_the_htmx_dialog(
    signed_in_page, live_server, admin_user, workspace, retrievable
):
    token, secret = issue(admin_user, workspace, "ci-deploy")
    page = with_passkey(signed_in_page, live_server, admin_user)
    errors = watch_console(page)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    page.locator(f"#reveal-{token.public_id}").click()
    expect(dialog(page).get_by_label("Your password")).to_be_visible()
    dialog(page).get_by_role("button", name="Use a passkey instead").click()
    expect(dialog(page).locator("[data-secret-code]")).to_have_text(secret)
    assert confirmations()[-1] == "passkey"
    assert errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_sudo_prompt(
    scheme, signed_in_page, live_server, admin_user, workspace, retrievable, screenshots_dir
):
    token, _ = issue(admin_user, workspace, "ci-deploy")
    enrol_totp(admin_user)
    page = with_passkey(
        signed_in_page,
        live_server,
        admin_user,
        first=False,
        color_scheme=scheme,
        viewport={"width": 1280, "height": 900},
    )
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    page.locator(f"#reveal-{token.public_id}").click()
    expect(dialog(page).get_by_role("button", name="Use a passkey instead")).to_be_visible()
    expect(dialog(page).get_by_label("Or a code from your authenticator app")).to_be_visible()
    page.screenshot(path=screenshots_dir / f"sudo-reveal-dialog-{scheme}.png")
    page.keyboard.press("Escape")

    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/policies/")
    page.locator("form.policy-form").first.get_by_label("Maximum lifetime").fill("30")
    page.locator("form.policy-form").first.get_by_role("button", name="Save policies").click()
    expect(page.get_by_text("Enter your password.").first).to_be_visible()
    expect(page.locator("form.policy-form").first.get_by_label("Maximum lifetime")).to_have_value(
        "30"
    )
    page.locator("[data-sudo-prompt]").first.scroll_into_view_if_needed()
    page.screenshot(path=screenshots_dir / f"sudo-policies-{scheme}.png", full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_last_factor_and_the_sso_prompt(
    scheme, signed_in_page, live_server, admin_user, member_user, screenshots_dir, settings
):
    page = with_passkey(
        signed_in_page, live_server, admin_user, color_scheme=scheme, viewport=VIEWPORT
    )
    page.get_by_role("link", name="Remove Work laptop").click()
    expect(dialog(page)).to_contain_text("This is your only second factor")
    expect(dialog(page).get_by_label("A recovery code")).to_be_visible()
    page.screenshot(path=screenshots_dir / f"sudo-last-passkey-{scheme}.png")

    # An account single sign-on made: no password to ask for; the provider confirms.
    settings.KEYWARD_OIDC_ISSUER = "https://sso.example.com/realm"
    settings.KEYWARD_OIDC_CLIENT_ID = "keyward"
    settings.KEYWARD_OIDC_CLIENT_SECRET = "not-used-here"
    settings.KEYWARD_OIDC_PROVIDER_NAME = "Okta"
    member_user.set_unusable_password()
    member_user.save()
    member = signed_in_page(member_user, color_scheme=scheme, viewport=VIEWPORT)
    member.goto(f"{live_server.url}/account/security/totp/setup/")
    expect(member.get_by_label("Your password")).to_have_count(0)
    link = member.get_by_role("link", name="Confirm with Okta")
    expect(link).to_have_attribute(
        "href", "/accounts/sso/confirm/?next=%2Faccount%2Fsecurity%2Ftotp%2Fsetup%2F"
    )
    member.screenshot(path=screenshots_dir / f"sudo-sso-{scheme}.png", full_page=True)
