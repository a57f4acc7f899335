"""axe on the console's pages and dialogs, light and dark, with screenshots.

The workspace holds a few tokens (one revoked, one renamed), a resource and a
pending invitation, so tables, badges and filters are on the pages checked.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Invitation, Workspace
from accounts.roles import Role
from tests.browser.accessibility import assert_accessible
from tests.browser.helpers import dialog
from tests.conftest import PASSWORD
from tests.factories import actor_of, issue
from tokens import services
from tokens.models import Resource, Token

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture
def deploy(admin_user, member_user, manager_user, workspace: Workspace, retrievable) -> Token:
    """Fill the workspace; return the active token "ci-deploy" whose value can be revealed."""
    Resource.objects.create(workspace=workspace, name="billing-app", kind="application")
    token, _ = issue(admin_user, workspace, "ci-deploy")
    issue(member_user, workspace, "grafana-reader", kind="personal")
    legacy, _ = issue(admin_user, workspace, "legacy-sync")
    actor = actor_of(admin_user, workspace)
    services.token_revoke(actor=actor, token=legacy)
    services.token_rename(actor=actor, token=token, name="ci-deploy")
    Invitation.objects.create(
        workspace=workspace, email="new@example.com", role=Role.MEMBER, invited_by=admin_user
    )
    return token


@pytest.fixture
def admin_page(signed_in_page, admin_user, deploy) -> Page:
    return signed_in_page(admin_user, viewport=VIEWPORT)


PAGES = {
    "overview": "/w/acme/",
    "tokens": "/w/acme/settings/tokens/",
    "tokens-all": "/w/acme/settings/tokens/?status=all",
    "members": "/w/acme/settings/members/",
    "policies": "/w/acme/settings/policies/",
    "resources": "/w/acme/settings/resources/",
    "audit": "/w/acme/settings/audit/",
    "activity": "/w/acme/settings/tokens/{token}/activity/",
    "not-found": "/w/no-such-workspace/",
}


@pytest.mark.parametrize("name", PAGES)
def test_console_page(name, admin_page, live_server, deploy):
    response = admin_page.goto(live_server.url + PAGES[name].format(token=deploy.public_id))
    assert response.status == (404 if name == "not-found" else 200)
    assert_accessible(admin_page, name)


@pytest.mark.parametrize("name", ["tokens", "overview", "policies", "forbidden"])
def test_console_page_of_a_member(name, signed_in_page, live_server, member_user, deploy):
    page = signed_in_page(member_user, viewport=VIEWPORT)
    path = {"forbidden": "/w/acme/settings/audit/"}.get(name) or PAGES[name]
    response = page.goto(live_server.url + path)
    assert response.status == (403 if name == "forbidden" else 200)
    assert_accessible(page, f"member-{name}")


def open_dialog(page: Page, opener) -> None:
    opener.click()
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).locator(":focus")).to_have_count(1)


TOKEN_DIALOGS = ["add", "add-error", "created", "check", "rename", "rotate", "revoke", "reveal"]


@pytest.mark.parametrize("name", TOKEN_DIALOGS)
def test_token_dialog(name, admin_page, live_server, deploy):
    page = admin_page
    page.goto(f"{live_server.url}/w/acme/settings/tokens/")
    if name.startswith("add") or name == "created":
        open_dialog(page, page.locator("#add-token"))
        if name != "add":
            dialog(page).get_by_role("textbox", name="Name").fill("" if name == "add-error" else "ci-new")
            dialog(page).get_by_role("button", name="Create token").click()
            if name == "add-error":
                expect(dialog(page).locator("[aria-invalid=true]").first).to_be_focused()
            else:
                expect(dialog(page).locator("[data-secret-code]")).to_be_attached()
    elif name == "check":
        open_dialog(page, page.get_by_role("link", name="Check a token"))
    elif name == "reveal":
        open_dialog(page, page.locator(f"#reveal-{deploy.public_id}"))
        dialog(page).get_by_label("Your password").fill(PASSWORD)
        page.keyboard.press("Enter")
        expect(dialog(page).locator("[data-secret-code]")).to_be_attached()
    else:
        open_dialog(page, page.get_by_role("link", name=f"{name.title()} ci-deploy"))
    assert_accessible(page, f"tokens-{name}-dialog", full_page=False)


@pytest.mark.parametrize("name", ["invite", "resource"])
def test_settings_dialog(name, admin_page, live_server):
    page = admin_page
    if name == "invite":
        page.goto(f"{live_server.url}/w/acme/settings/members/")
        open_dialog(page, page.get_by_role("link", name="Invite member"))
    else:
        page.goto(f"{live_server.url}/w/acme/settings/resources/")
        open_dialog(page, page.locator("#add-resource"))
    assert_accessible(page, f"{name}-dialog", full_page=False)
