"""Settings → Members in real Chromium: sign-in, invitations, roles, removal, keyboard, looks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Invitation, Membership, User
from accounts.roles import Role
from tests.browser.helpers import assert_not_reloaded, dialog, mark_document
from tests.conftest import PASSWORD, make_member

pytestmark = pytest.mark.playwright

LINK = re.compile(r"https?://\S+/invitations/\S+/")


def member_row(page: Page, email: str):
    return page.locator("#member-list tbody tr", has_text=email)


def role_select(page: Page, email: str):
    return member_row(page, email).get_by_label(f"Role of {email}", exact=True)


def test_sign_in_through_the_login_form(page: Page, live_server, admin_user, workspace):
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").fill(admin_user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(workspace.name)

    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Members").click()
    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/settings/members/")
    expect(member_row(page, admin_user.email)).to_contain_text("(you)")


def test_wrong_password_keeps_the_user_on_the_form(page: Page, live_server, admin_user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").fill(admin_user.email)
    page.locator("#id_password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    expect(page.locator("#id_username")).to_have_value(admin_user.email)
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def test_invite_by_email_then_accept_in_a_fresh_browser(
    signed_in_page, new_context, members_url, admin_user, workspace, mailoutbox, live_server
):
    page = signed_in_page(admin_user)
    page.goto(members_url)
    mark_document(page)

    page.get_by_role("link", name="Invite member").click()
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).get_by_role("heading", name="Invite a member")).to_be_visible()
    dialog(page).get_by_label("Email").fill("newcomer@example.com")
    dialog(page).get_by_label("Role").select_option(Role.MANAGER.value)
    dialog(page).get_by_role("button", name="Send invitation").click()

    expect(dialog(page)).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text(
        "Invitation created; emailing it to newcomer@example.com."
    )
    pending = page.get_by_role("table", name="Pending invitations")
    expect(pending.get_by_role("row", name=re.compile("newcomer@example.com"))).to_contain_text(
        "Manager"
    )
    assert_not_reloaded(page)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["newcomer@example.com"]
    link = LINK.search(mailoutbox[0].body).group(0)
    assert link.startswith(live_server.url)

    # The invitee has never been here: a fresh context, with no cookies.
    invitee = new_context().new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", level=1)).to_have_text(f"Join {workspace.name}")
    expect(invitee.locator("#invite-email")).to_have_value("newcomer@example.com")
    invitee.get_by_label("Your name").fill("Nina Newcomer")
    invitee.get_by_label("Password", exact=True).fill("a-long-and-unusual-passphrase")
    invitee.get_by_label("Confirm password").fill("a-long-and-unusual-passphrase")
    invitee.get_by_role("button", name="Create account and join").click()

    expect(invitee).to_have_url(f"{live_server.url}/w/{workspace.slug}/")
    expect(invitee.get_by_role("heading", level=1)).to_have_text(workspace.name)
    expect(invitee.get_by_text(re.compile(r"You are Manager in this workspace"))).to_be_visible()
    newcomer = User.objects.get(email="newcomer@example.com")
    assert Membership.objects.get(user=newcomer, workspace=workspace).role == Role.MANAGER

    # The same link does not work twice.
    again = new_context().new_page()
    again.goto(link)
    expect(again.get_by_role("alert")).to_contain_text("already been used")


def test_invite_errors_show_in_the_modal_and_keep_what_was_typed(
    signed_in_page, members_url, admin_user, member_user, mailoutbox
):
    page = signed_in_page(admin_user)
    page.goto(members_url)

    page.get_by_role("link", name="Invite member").click()
    dialog(page).get_by_label("Email").fill(member_user.email)
    dialog(page).get_by_role("button", name="Send invitation").click()

    expect(dialog(page)).to_be_visible()
    expect(dialog(page)).to_contain_text(f"{member_user.email} is already a member")
    expect(dialog(page).get_by_label("Email")).to_have_value(member_user.email)
    assert mailoutbox == []


def test_change_role_updates_the_row_in_place(signed_in_page, members_url, admin_user, workspace):
    bob = make_member(workspace, "bob@example.com", Role.MEMBER)
    page = signed_in_page(admin_user)
    page.goto(members_url)
    mark_document(page)

    role_select(page, bob.email).select_option(Role.MANAGER.value)
    page.get_by_role("button", name=f"Save role of {bob.email}").click()

    expect(page.locator("#toasts")).to_contain_text(f"{bob.email} is now Manager.")
    expect(role_select(page, bob.email)).to_have_value(Role.MANAGER.value)
    # Keyboard users keep their place: the new row's Save button has focus.
    expect(page.get_by_role("button", name=f"Save role of {bob.email}")).to_be_focused()
    assert_not_reloaded(page)
    assert Membership.objects.get(user=bob, workspace=workspace).role == Role.MANAGER


def test_demoting_the_last_admin_is_refused_in_place(
    signed_in_page, members_url, admin_user, workspace
):
    page = signed_in_page(admin_user)
    page.goto(members_url)
    mark_document(page)

    role_select(page, admin_user.email).select_option(Role.MEMBER.value)
    page.get_by_role("button", name=f"Save role of {admin_user.email}").click()

    expect(role_select(page, admin_user.email)).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".toast-error")).to_be_visible()
    assert_not_reloaded(page)
    assert Membership.objects.get(user=admin_user, workspace=workspace).role == Role.ADMIN


def test_remove_member_through_the_confirm_modal(
    signed_in_page, members_url, admin_user, workspace
):
    bob = make_member(workspace, "bob@example.com", Role.MEMBER)
    page = signed_in_page(admin_user)
    page.goto(members_url)
    mark_document(page)
    remove = page.get_by_role("link", name=f"Remove {bob.email}")

    # Cancel first: nothing changes, and focus goes back to the x icon.
    remove.click()
    expect(dialog(page)).to_be_visible()
    expect(dialog(page)).to_contain_text(f"Remove {bob.email} (Member) from {workspace.name}?")
    expect(dialog(page).get_by_role("link", name="Cancel")).to_be_focused()
    dialog(page).get_by_role("link", name="Cancel").click()
    expect(dialog(page)).to_be_hidden()
    expect(remove).to_be_focused()
    expect(member_row(page, bob.email)).to_be_visible()
    assert Membership.objects.filter(user=bob, workspace=workspace).exists()

    # Then confirm.
    remove.click()
    dialog(page).get_by_role("button", name="Remove member").click()
    expect(dialog(page)).to_be_hidden()
    expect(member_row(page, bob.email)).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text(
        f"{bob.email} was removed from {workspace.name}."
    )
    # The x icon went with the row; focus lands on the list's heading, not on <body>.
    expect(page.get_by_role("heading", name="Members", exact=True)).to_be_focused()
    assert_not_reloaded(page)
    assert not Membership.objects.filter(user=bob, workspace=workspace).exists()


def test_invite_modal_works_with_the_keyboard_only(
    signed_in_page, members_url, admin_user, workspace, mailoutbox
):
    page = signed_in_page(admin_user)
    page.goto(members_url)
    invite = page.get_by_role("link", name="Invite member")

    # Tab from the top of the page until the Invite button has focus.
    for _ in range(40):
        page.keyboard.press("Tab")
        if invite.evaluate("el => el === document.activeElement"):
            break
    expect(invite).to_be_focused()

    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    email = dialog(page).get_by_label("Email")
    expect(email).to_be_focused()
    page.keyboard.type("typed@example.com")
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(invite).to_be_focused()
    assert not Invitation.objects.exists()

    # Open again, type and submit with Enter.
    page.keyboard.press("Enter")
    expect(email).to_be_focused()
    expect(email).to_have_value("")
    page.keyboard.type("typed@example.com")
    page.keyboard.press("Enter")

    expect(dialog(page)).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text(
        "Invitation created; emailing it to typed@example.com."
    )
    expect(invite).to_be_focused()
    assert Invitation.objects.get(workspace=workspace).email == "typed@example.com"
    assert len(mailoutbox) == 1


def test_without_javascript_invite_and_remove_work_with_full_pages(
    signed_in_page, members_url, admin_user, workspace, mailoutbox
):
    bob = make_member(workspace, "bob@example.com", Role.MEMBER)
    page = signed_in_page(admin_user, java_script_enabled=False)
    page.goto(members_url)

    page.get_by_role("link", name="Invite member").click()
    expect(page).to_have_url(f"{members_url}invite/")
    page.get_by_label("Email").fill("plain@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page).to_have_url(members_url)
    expect(page.locator("#toasts")).to_contain_text(
        "Invitation created; emailing it to plain@example.com."
    )
    expect(page.get_by_role("table", name="Pending invitations")).to_contain_text(
        "plain@example.com"
    )
    assert len(mailoutbox) == 1

    page.get_by_role("link", name=f"Remove {bob.email}").click()
    expect(page).to_have_url(re.compile(r"/members/\d+/remove/$"))
    page.get_by_role("button", name="Remove member").click()
    expect(page).to_have_url(members_url)
    expect(member_row(page, bob.email)).to_have_count(0)
    assert not Membership.objects.filter(user=bob, workspace=workspace).exists()


@pytest.mark.parametrize("viewer", ["manager_user", "member_user"])
def test_managers_and_members_see_the_list_without_controls(
    request, viewer, signed_in_page, members_url, admin_user, workspace
):
    user = request.getfixturevalue(viewer)
    page = signed_in_page(user)
    page.goto(members_url)

    members = page.get_by_role("table", name="Members")
    expect(members.locator("tbody tr")).to_have_count(2)
    expect(member_row(page, admin_user.email)).to_contain_text("Admin")
    expect(member_row(page, user.email)).to_contain_text("(you)")
    expect(page.get_by_role("link", name="Invite member")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Save role"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Remove "))).to_have_count(0)
    expect(page.get_by_role("combobox")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_members_and_the_invite_modal(
    scheme, signed_in_page, members_url, admin_user, workspace, screenshots_dir
):
    manager = make_member(workspace, "manager@example.com", Role.MANAGER)
    manager.full_name = "Maria Manager"
    manager.save(update_fields=["full_name"])
    make_member(workspace, "member@example.com", Role.MEMBER)
    Invitation.objects.create(
        workspace=workspace, email="pending@example.com", role=Role.MEMBER, invited_by=admin_user
    )
    page = signed_in_page(admin_user, color_scheme=scheme, viewport={"width": 1280, "height": 800})
    page.goto(members_url)
    expect(page.get_by_role("table", name="Members")).to_be_visible()
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")

    page.screenshot(path=screenshots_dir / f"members-{scheme}.png", full_page=True)

    page.get_by_role("link", name="Invite member").click()
    expect(dialog(page).get_by_label("Email")).to_be_focused()
    page.screenshot(path=screenshots_dir / f"members-invite-modal-{scheme}.png")

    assert (screenshots_dir / f"members-{scheme}.png").stat().st_size > 0
    assert (screenshots_dir / f"members-invite-modal-{scheme}.png").stat().st_size > 0
