"""The workspace policy "Require two-factor authentication" in real Chromium: an Admin turns it
on, a Manager without two-factor is sent to set it up (from a page and from an HTMX click), and
how the Policies section, the "set up two-factor to continue" page and the Members tab look."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership, TwoFactorPolicy, Workspace
from accounts.roles import Role
from tests.accounts.otp import enrol_totp
from tests.browser.helpers import watch_console
from tests.conftest import PASSWORD

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 800}


def require(workspace: Workspace, policy: str) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(two_factor_policy=policy)


def section(page: Page):
    return page.locator("#two-factor-policy")


def test_an_admin_requires_it_and_a_manager_without_it_is_sent_to_set_it_up(
    signed_in_page, live_server, workspace, admin_user, manager_user
):
    enrol_totp(admin_user)
    admin = signed_in_page(admin_user)
    errors = watch_console(admin)
    admin.goto(f"{live_server.url}/w/acme/settings/policies/")
    choice = section(admin).get_by_label("Admins and Managers")
    expect(choice).to_be_enabled()
    choice.check()
    section(admin).get_by_label("Your password").fill(PASSWORD)
    section(admin).get_by_role("button", name="Save two-factor policy").click()
    expect(admin.get_by_text("Two-factor policy saved.")).to_be_visible()
    expect(section(admin).get_by_label("Admins and Managers")).to_be_checked()
    assert errors == []

    manager = signed_in_page(manager_user, viewport=VIEWPORT)
    manager.goto(f"{live_server.url}/w/acme/settings/tokens/")
    expect(manager).to_have_url(f"{live_server.url}/account/security/required/acme/")
    expect(manager.get_by_role("heading", name="Acme requires it")).to_be_visible()
    manager.get_by_role("link", name="Set up two-factor authentication").click()
    expect(manager).to_have_url(f"{live_server.url}/account/security/")


def test_an_htmx_click_sends_the_manager_to_the_page_not_into_the_modal(
    signed_in_page, live_server, workspace, manager_user
):
    page = signed_in_page(manager_user)
    page.goto(f"{live_server.url}/w/acme/settings/tokens/")
    require(workspace, TwoFactorPolicy.ADMINS_AND_MANAGERS)  # while the page is open
    page.get_by_role("link", name="Check a token").click()
    expect(page).to_have_url(f"{live_server.url}/account/security/required/acme/")
    heading = page.get_by_role("heading", name="Set up two-factor authentication to continue")
    expect(heading).to_be_visible()


def test_the_admin_without_two_factor_sees_why_next_to_the_field(
    signed_in_page, live_server, workspace, admin_user
):
    page = signed_in_page(admin_user)
    page.goto(f"{live_server.url}/w/acme/settings/policies/")
    section(page).get_by_role("radio", name=re.compile(r"^Everyone")).check()
    section(page).get_by_label("Your password").fill(PASSWORD)
    section(page).get_by_role("button", name="Save two-factor policy").click()
    error = page.locator("#two-factor-policy-error")
    expect(error).to_contain_text("Set up two-factor authentication for yourself first")
    error.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page).to_have_url(f"{live_server.url}/account/security/")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(
    scheme,
    signed_in_page,
    live_server,
    workspace,
    other_workspace,
    admin_user,
    manager_user,
    member_user,
    screenshots_dir,
):
    enrol_totp(admin_user)
    require(workspace, TwoFactorPolicy.ADMINS_AND_MANAGERS)
    Membership.objects.create(user=manager_user, workspace=other_workspace, role=Role.MEMBER)
    shots = []

    admin = signed_in_page(admin_user, color_scheme=scheme, viewport=VIEWPORT)
    admin.goto(f"{live_server.url}/w/acme/settings/policies/")
    section(admin).scroll_into_view_if_needed()
    shots.append(screenshots_dir / f"two-factor-policy-{scheme}.png")
    section(admin).screenshot(path=shots[-1])
    admin.goto(f"{live_server.url}/w/acme/settings/members/")
    expect(admin.get_by_text("required here")).to_be_visible()
    shots.append(screenshots_dir / f"members-two-factor-{scheme}.png")
    admin.screenshot(path=shots[-1], full_page=True)

    manager = signed_in_page(manager_user, color_scheme=scheme, viewport=VIEWPORT)
    manager.goto(f"{live_server.url}/w/acme/")
    expect(manager.get_by_role("heading", name="Acme requires it")).to_be_visible()
    shots.append(screenshots_dir / f"two-factor-required-{scheme}.png")
    manager.screenshot(path=shots[-1], full_page=True)
    for path in shots:
        assert path.stat().st_size > 0
