"""Single sign-on in real Chromium against the local OpenID Connect provider: the SSO button's
whole flow, the password form's refusal, and how the login page and the settings look."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent, WorkspaceSingleSignOn
from tests.browser.helpers import watch_console
from tests.conftest import PASSWORD

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 800}


def check_scheme(page: Page, scheme: str) -> None:
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")


def test_the_sso_button_signs_in_through_the_provider(
    oidc_provider, live_server, page: Page, member_user, workspace
):
    errors = watch_console(page)
    page.goto(f"{live_server.url}/accounts/login/?next=/w/acme/settings/members/")
    page.get_by_role("link", name="Sign in with SSO").click()
    expect(page).to_have_url(re.compile(r"/w/acme/settings/members/$"))
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    (authorization,) = oidc_provider.authorizations
    assert authorization.redirect_uri == f"{live_server.url}/accounts/sso/callback/"
    assert AuditEvent.objects.filter(action="signin.sso", actor_user=member_user).exists()
    assert errors == []


def test_the_login_page_asks_for_passkey_suggestions_without_a_request(
    oidc_provider, live_server, page: Page, member_user, workspace
):
    """Its options come with the page: a request for them as it loads would save the session
    while the SSO button's click saves its state there, and the last write would win."""
    page.add_init_script(
        "const get = navigator.credentials.get.bind(navigator.credentials);"
        "navigator.credentials.get = (request) => {"
        " if (request.mediation === 'conditional') window.suggesting = true;"
        " return get(request); };"
    )
    posted = []
    page.on("request", lambda request: request.method == "POST" and posted.append(request.url))
    page.goto(f"{live_server.url}/accounts/login/")
    page.wait_for_function("window.suggesting === true")
    assert posted == []
    page.get_by_role("link", name="Sign in with SSO").click()  # at once, as the page loaded
    expect(page.get_by_label(f"Account menu for {member_user.email}")).to_be_visible()
    assert AuditEvent.objects.filter(action="signin.sso", actor_user=member_user).exists()


def test_signing_out_after_sso_signs_out_at_the_provider_and_comes_back_to_login(
    oidc_provider, live_server, page: Page, member_user, workspace
):
    errors = watch_console(page)
    page.goto(f"{live_server.url}/accounts/login/?next=/w/acme/")
    page.get_by_role("link", name="Sign in with SSO").click()
    expect(page).to_have_url(re.compile(r"/w/acme/$"))

    visited = []
    page.on("request", lambda request: visited.append(request.url))
    page.get_by_label(f"Account menu for {member_user.email}").click()
    page.get_by_role("menuitem", name="Sign out").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("link", name="Sign in with SSO")).to_be_visible()
    assert any(url.startswith(f"{oidc_provider.issuer}/logout?") for url in visited)
    [logout] = oidc_provider.logouts
    assert logout["claims"]["email"] == member_user.email
    assert logout["post_logout_redirect_uri"] == f"{live_server.url}/accounts/login/"
    page.goto(f"{live_server.url}/w/acme/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))  # Keyward's session is over
    assert errors == []


def test_a_refused_sso_sign_in_is_explained_on_the_login_page(
    oidc_provider, live_server, page: Page, member_user
):
    oidc_provider.person["email_verified"] = False
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with SSO").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Your single sign-on provider has not verified your email address"
    )
    expect(page.get_by_role("link", name="Sign in with SSO")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_login_page_with_sso(
    scheme,
    oidc_provider,
    settings,
    live_server,
    new_context,
    member_user,
    workspace,
    admin_user,
    screenshots_dir,
):
    settings.KEYWARD_OIDC_PROVIDER_NAME = "Okta"
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace, required=True, break_glass_admin=admin_user
    )
    page = new_context(color_scheme=scheme, viewport=VIEWPORT).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("link", name="Sign in with Okta")).to_be_visible()
    check_scheme(page, scheme)
    plain = screenshots_dir / f"sso-login-{scheme}.png"
    page.screenshot(path=plain, full_page=True)

    # A member of a workspace that requires SSO types their password.
    page.get_by_label("Email").fill(member_user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Acme requires single sign-on. Sign in with Okta.")
    expect(alert.get_by_role("link", name="Sign in with Okta")).to_be_visible()
    refused = screenshots_dir / f"sso-login-required-{scheme}.png"
    page.screenshot(path=refused, full_page=True)

    page.goto(f"{live_server.url}/accounts/login/?sso=email_unverified")
    unverified = screenshots_dir / f"sso-login-unverified-{scheme}.png"
    page.screenshot(path=unverified, full_page=True)
    for path in (plain, refused, unverified):
        assert path.stat().st_size > 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_single_sign_on_settings(
    scheme, oidc_provider, signed_in_page, live_server, admin_user, workspace, screenshots_dir
):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace,
        required=True,
        break_glass_admin=admin_user,
        jit_enabled=True,
        jit_domains=["example.com", "example.org"],
    )
    page = signed_in_page(admin_user, color_scheme=scheme, viewport=VIEWPORT)
    page.goto(f"{live_server.url}/w/acme/settings/policies/")
    summary = page.get_by_role("region", name="Single sign-on")
    expect(summary).to_contain_text("Members must sign in with SSO")
    summary.scroll_into_view_if_needed()
    check_scheme(page, scheme)
    policies = screenshots_dir / f"sso-policies-summary-{scheme}.png"
    page.screenshot(path=policies, full_page=True)

    summary.get_by_role("link", name="Change single sign-on").click()
    expect(page.get_by_role("heading", name="Single sign-on")).to_be_visible()
    expect(page.get_by_label("Members must sign in with SSO")).to_be_checked()
    settings_page = screenshots_dir / f"sso-settings-{scheme}.png"
    page.screenshot(path=settings_page, full_page=True)

    # A wrong password: the settings stay as typed, the error sits by the field.
    page.get_by_role("textbox", name=re.compile("^Email domains")).fill("example.com\nnot a domain")
    page.get_by_label("Your password").fill("wrong")
    page.get_by_role("button", name="Save single sign-on").click()
    expect(page.get_by_text("Not an email domain: not a domain.")).to_be_visible()
    errors = screenshots_dir / f"sso-settings-errors-{scheme}.png"
    page.screenshot(path=errors, full_page=True)
    for path in (policies, settings_page, errors):
        assert path.stat().st_size > 0
