"""axe on the console's pages and dialogs, light and dark, with screenshots.

The workspace holds a few tokens (one revoked, one renamed), a resource and a
pending invitation, so tables, badges and filters are on the pages checked.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Invitation, Workspace
from accounts.roles import Role
from tests.browser.accessibility import assert_accessible, assert_focus_visible
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
MEMBER_PAGES = {
    "member-overview": "/w/acme/",
    "member-tokens": "/w/acme/settings/tokens/",
    "member-policies": "/w/acme/settings/policies/",
    "member-forbidden": "/w/acme/settings/audit/",
}
STATUS = {"not-found": 404, "member-forbidden": 403}


PHONE = {"width": 390, "height": 844}
# On a phone the tables scroll sideways: a table with nothing focusable in it must take focus.
PHONE_PAGES = {
    "phone-tokens": "/w/acme/settings/tokens/",
    "phone-audit": "/w/acme/settings/audit/",
    "phone-activity": "/w/acme/settings/tokens/{token}/activity/",
}
MEMBER_PHONE_PAGES = {"phone-member-resources": "/w/acme/settings/resources/"}


def test_console_pages(subtests, admin_page, signed_in_page, live_server, member_user, deploy):
    member = signed_in_page(member_user, viewport=VIEWPORT)
    for pages, page in (
        (PAGES, admin_page),
        (MEMBER_PAGES, member),
        (PHONE_PAGES, admin_page),
        (MEMBER_PHONE_PAGES, member),
    ):
        if pages in (PHONE_PAGES, MEMBER_PHONE_PAGES):
            page.set_viewport_size(PHONE)
        for name, path in pages.items():
            with subtests.test(name):
                response = page.goto(live_server.url + path.format(token=deploy.public_id))
                assert response.status == STATUS.get(name, 200)
                assert_accessible(page, name)


def open_dialog(page: Page, opener) -> None:
    opener.click()
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).locator(":focus")).to_have_count(1)


def close_dialog(page: Page) -> None:
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()


def create_token(page: Page, name: str) -> None:
    open_dialog(page, page.locator("#add-token"))
    dialog(page).get_by_role("textbox", name="Name").fill(name)
    dialog(page).get_by_role("button", name="Create token").click()


def test_token_dialogs(subtests, admin_page, live_server, deploy):
    page = admin_page
    page.goto(f"{live_server.url}/w/acme/settings/tokens/")
    for name in ("Check a token", "Rename ci-deploy", "Rotate ci-deploy", "Revoke ci-deploy"):
        with subtests.test(name):
            open_dialog(page, page.get_by_role("link", name=name))
            assert_accessible(page, f"tokens-{name.split()[0].lower()}-dialog", full_page=False)
            close_dialog(page)
    with subtests.test("add"):
        open_dialog(page, page.locator("#add-token"))
        assert_accessible(page, "tokens-add-dialog", full_page=False)
        close_dialog(page)
    with subtests.test("add with an error"):
        create_token(page, "")
        expect(dialog(page).locator("[aria-invalid=true]").first).to_be_focused()
        assert_accessible(page, "tokens-add-error-dialog", full_page=False)
        close_dialog(page)
    with subtests.test("created"):
        create_token(page, "ci-new")
        expect(dialog(page).locator("[data-secret-code]")).to_be_attached()
        assert_accessible(page, "tokens-created-dialog", full_page=False)
        close_dialog(page)
    with subtests.test("reveal"):
        open_dialog(page, page.locator(f"#reveal-{deploy.public_id}"))
        dialog(page).get_by_label("Your password").fill(PASSWORD)
        page.keyboard.press("Enter")
        expect(dialog(page).locator("[data-secret-code]")).to_be_attached()
        assert_accessible(page, "tokens-reveal-dialog", full_page=False)
        close_dialog(page)


SETTINGS_DIALOGS = {
    "invite": ("members", "Invite member"),
    "member-remove": ("members", "Remove member@example.com"),
    "resource-add": ("resources", "Add resource"),
    "resource-rename": ("resources", "Rename billing-app"),
    "resource-delete": ("resources", "Delete billing-app"),
}


def test_settings_dialogs(subtests, admin_page, live_server):
    page = admin_page
    for name, (tab, link) in SETTINGS_DIALOGS.items():
        with subtests.test(name):
            if not page.url.endswith(PAGES[tab]):
                page.goto(live_server.url + PAGES[tab])
            open_dialog(page, page.get_by_role("link", name=link).first)
            assert_accessible(page, f"{name}-dialog", full_page=False)
            close_dialog(page)


def test_keyboard_focus_is_visible(subtests, admin_page, live_server):
    """Tab through the busiest pages and a dialog: every stop shows its focus ring."""
    page = admin_page
    for name in ("tokens", "members", "policies", "audit"):
        with subtests.test(name):
            page.goto(live_server.url + PAGES[name])
            assert assert_focus_visible(page, name) > 5
    with subtests.test("add token dialog"):
        page.goto(live_server.url + PAGES["tokens"])
        open_dialog(page, page.locator("#add-token"))
        assert assert_focus_visible(page, "add token dialog") > 5
