"""Settings → Policies and Settings → Resources in real Chromium: the live lifetime impact,
saving, the read-only form, erasing stored copies; adding, renaming and deleting resources
through the modal, the blocked delete; and how both tabs look, light and dark."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Workspace
from gateway.services import service_create
from tests.browser.helpers import assert_not_reloaded, dialog, mark_document, watch_console
from tests.conftest import PASSWORD
from tests.factories import actor_of, issue
from tokens import services
from tokens.models import Resource, RevealPolicy, Token

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 800}


# Helpers -------------------------------------------------------------------------------------


def toasts(page: Page):
    return page.locator("#toasts")


@pytest.fixture
def policies_url(live_server, workspace: Workspace) -> str:
    return f"{live_server.url}/w/{workspace.slug}/settings/policies/"


@pytest.fixture
def resources_url(live_server, workspace: Workspace) -> str:
    return f"{live_server.url}/w/{workspace.slug}/settings/resources/"


# Policies -----------------------------------------------------------------------------------


def lifetime(page: Page):
    return page.get_by_label("Maximum lifetime")


def impact(page: Page):
    return page.locator("#lifetime-impact")


@pytest.fixture
def two_tokens(admin_user, workspace) -> None:
    """Issue a token that never expires and one that expires in ten days."""
    issue(admin_user, workspace, "forever")
    issue(admin_user, workspace, "ten-days", expires_at=timezone.now() + timedelta(days=10))


def confirm_who(page) -> None:
    """Answer the token policies' sudo prompt with the password."""
    page.locator("form.policy-form").first.get_by_label("Your password").fill(PASSWORD)


def test_typing_a_lifetime_shows_its_impact_live_then_saving_keeps_it(
    signed_in_page, policies_url, admin_user, workspace, two_tokens
):
    page = signed_in_page(admin_user)
    errors = watch_console(page)
    page.goto(policies_url)
    tab = page.get_by_role("navigation", name="Settings").get_by_role("link", name="Policies")
    expect(tab).to_have_attribute("aria-current", "page")
    expect(lifetime(page)).to_be_editable()
    expect(lifetime(page)).to_have_value("")
    expect(impact(page)).to_have_text("")
    mark_document(page)

    # As the Admin types, the impact under the field follows, without a page load.
    lifetime(page).press_sequentially("30")
    expect(impact(page)).to_contain_text(
        "1 active token expires more than 30 days from now, or never."
    )
    expect(impact(page)).to_have_class(re.compile(r"\bimpact-warn\b"))
    lifetime(page).fill("5")
    expect(impact(page)).to_contain_text(
        "2 active tokens expire more than 5 days from now, or never."
    )
    lifetime(page).fill("")
    expect(impact(page)).to_have_text("")
    lifetime(page).fill("30")
    expect(impact(page)).to_contain_text("1 active token expires more than 30 days")
    assert_not_reloaded(page)

    confirm_who(page)
    page.get_by_role("button", name="Save policies").click()
    expect(toasts(page)).to_contain_text("Policies saved.")
    expect(lifetime(page)).to_have_value("30")
    expect(impact(page)).to_contain_text("1 active token expires more than 30 days")
    assert services.workspace_policy(workspace).max_lifetime_days == 30
    assert errors == []


def test_members_read_the_policies_without_a_way_to_change_them(
    signed_in_page, policies_url, member_user, workspace
):
    page = signed_in_page(member_user)
    page.goto(policies_url)

    expect(page.get_by_role("note")).to_contain_text("Only Admins can change policies.")
    controls = page.locator(".policy-form input:not([type=hidden])")
    # Lifetime, two checkboxes, two radios; the two-factor section's three radios.
    expect(controls).to_have_count(5 + 3)
    for control in controls.all():
        expect(control).to_be_disabled()
    expect(lifetime(page)).to_be_disabled()
    expect(page.get_by_label("Allow tokens that never expire")).to_be_disabled()
    expect(page.get_by_label("Members may create personal tokens")).to_be_disabled()
    expect(page.get_by_label("Show once")).to_be_disabled()
    expect(page.get_by_role("button", name="Save policies")).to_have_count(0)
    expect(page.locator(".policy-form button")).to_have_count(0)


def test_switching_to_show_once_says_how_many_copies_were_erased(
    signed_in_page, policies_url, admin_user, workspace, retrievable
):
    token, _ = issue(admin_user, workspace, "ci-deploy")
    assert token.encrypted_secret  # the policy was set first
    page = signed_in_page(admin_user)
    page.goto(policies_url)
    expect(page.get_by_label("Retrievable")).to_be_checked()
    copies = page.get_by_text("1 token keeps an encrypted copy.")
    expect(copies).to_be_visible()

    page.get_by_label("Show once").check()
    confirm_who(page)
    page.get_by_role("button", name="Save policies").click()

    expect(toasts(page)).to_contain_text(
        "Policies saved. Erased the stored copies of 1 token(s): "
        "their values can no longer be revealed."
    )
    expect(page.get_by_label("Show once")).to_be_checked()
    expect(copies).to_have_count(0)
    token.refresh_from_db()
    assert token.encrypted_secret == ""
    assert token.is_active
    assert services.workspace_policy(workspace).reveal_policy == RevealPolicy.SHOW_ONCE


# Resources ----------------------------------------------------------------------------------


def resource_rows(page: Page):
    return page.locator("#resource-list tbody tr")


def row_of(page: Page, resource: Resource):
    return page.locator(f"#resource-{resource.pk}")


@pytest.fixture
def billing(workspace) -> Resource:
    return Resource.objects.create(workspace=workspace, name="billing-app", kind="application")


@pytest.fixture
def cache(workspace) -> Resource:
    return Resource.objects.create(workspace=workspace, name="session-cache", kind="cache")


@pytest.fixture
def billing_only(manager_user, workspace, billing) -> Token:
    """Return an active token limited to billing-app alone."""
    return issue(manager_user, workspace, "ci-billing", resource_ids=[billing.pk])[0]


def test_add_a_resource_through_the_modal_then_rename_it(
    signed_in_page, resources_url, admin_user, workspace
):
    page = signed_in_page(admin_user)
    errors = watch_console(page)
    page.goto(resources_url)
    expect(page.get_by_role("heading", name="No resources yet")).to_be_visible()
    mark_document(page)

    add = page.locator("#add-resource")
    add.click()
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).get_by_role("heading", name="Add resource")).to_be_visible()
    name = dialog(page).get_by_label("Name")
    expect(name).to_be_focused()
    name.fill("orders-db")
    dialog(page).get_by_label("Kind").fill("database")
    dialog(page).get_by_label("Description").fill("Orders")
    dialog(page).get_by_role("button", name="Add resource").click()

    expect(dialog(page)).to_be_hidden()
    expect(resource_rows(page)).to_have_count(1)
    orders = Resource.objects.get(workspace=workspace, name="orders-db")
    row = row_of(page, orders)
    expect(row.locator("td")).to_have_text(
        ["orders-db", "database", "Orders", "None", "Label only", re.compile(r"\w+ \d+, \d{4}"), ""]
    )
    expect(toasts(page)).to_contain_text("Resource orders-db added.")
    expect(add).to_be_focused()
    assert_not_reloaded(page)

    # Rename it through its own modal: the row changes in place.
    page.get_by_role("link", name="Rename orders-db").click()
    expect(dialog(page).get_by_role("heading", name="Rename resource")).to_be_visible()
    name = dialog(page).get_by_label("Name")
    expect(name).to_have_value("orders-db")
    expect(name).to_be_focused()
    name.fill("orders-primary")
    dialog(page).get_by_role("button", name="Save").click()

    expect(dialog(page)).to_be_hidden()
    expect(row.locator("td").first).to_have_text("orders-primary")
    expect(resource_rows(page)).to_have_count(1)
    expect(toasts(page)).to_contain_text("Resource orders-db renamed to orders-primary.")
    expect(row.get_by_role("link", name="Rename orders-primary")).to_be_focused()
    assert_not_reloaded(page)
    orders.refresh_from_db()
    assert (orders.name, orders.kind) == ("orders-primary", "database")
    assert errors == []


def test_a_resource_an_active_token_is_limited_to_alone_cannot_be_deleted(
    signed_in_page, resources_url, admin_user, billing, billing_only
):
    page = signed_in_page(admin_user)
    page.goto(resources_url)
    expect(row_of(page, billing)).to_contain_text("1 active token")
    mark_document(page)

    delete = page.get_by_role("link", name="Delete billing-app")
    delete.click()
    expect(dialog(page).get_by_role("heading", name="Delete resource")).to_be_visible()
    expect(dialog(page).get_by_role("alert")).to_contain_text(
        "billing-app cannot be deleted yet: 1 active token is limited to it alone."
    )
    tokens = dialog(page).get_by_role("list", name="Tokens using billing-app")
    expect(tokens.get_by_role("listitem")).to_have_count(1)
    expect(tokens.get_by_role("listitem")).to_contain_text(
        "ci-billing Active limited to billing-app alone: blocks deletion"
    )
    expect(tokens.get_by_role("link", name="ci-billing")).to_be_visible()
    expect(dialog(page).get_by_role("button")).to_have_count(0)
    close = dialog(page).get_by_role("link", name="Close").last
    expect(close).to_be_focused()

    close.click()
    expect(dialog(page)).to_be_hidden()
    expect(delete).to_be_focused()
    expect(row_of(page, billing)).to_be_visible()
    assert_not_reloaded(page)
    assert Resource.objects.filter(pk=billing.pk).exists()


def test_delete_an_unused_resource_and_its_row_disappears(
    signed_in_page, resources_url, admin_user, workspace, billing, billing_only, cache
):
    # A guarded HTTP service: deleting it withdraws its scopes from the token holding one.
    actor = actor_of(admin_user, workspace)
    service_create(actor=actor, resource=cache, rules=[("cache.example.com", "/")])
    holder, _ = issue(admin_user, workspace, "cache-reader", scopes=["session-cache:read"])
    page = signed_in_page(admin_user)
    errors = watch_console(page)
    page.goto(resources_url)
    expect(resource_rows(page)).to_have_count(2)
    mark_document(page)

    page.get_by_role("link", name="Delete session-cache").click()
    expect(dialog(page).get_by_role("heading", name="Delete resource")).to_be_visible()
    expect(dialog(page)).to_contain_text("No active token is limited to it.")
    expect(dialog(page).locator(".alert-warn")).to_have_text(
        "session-cache is a guarded HTTP service: 1 active token holds session-cache:read or "
        "session-cache:write and will lose it: a service given this name later does not open "
        "to it."
    )
    expect(dialog(page).get_by_role("link", name="Cancel")).to_be_focused()
    dialog(page).get_by_role("button", name="Delete resource").click()

    expect(dialog(page)).to_be_hidden()
    expect(row_of(page, cache)).to_have_count(0)
    expect(resource_rows(page)).to_have_count(1)
    expect(row_of(page, billing)).to_be_visible()
    expect(toasts(page)).to_contain_text("Resource session-cache deleted.")
    expect(page.get_by_role("heading", name="Resources")).to_be_focused()
    assert_not_reloaded(page)
    assert not Resource.objects.filter(pk=cache.pk).exists()
    holder.refresh_from_db()
    assert holder.scopes == []
    assert errors == []


# Looks --------------------------------------------------------------------------------------


def check_scheme(page: Page, scheme: str) -> None:
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_policies_tab(
    scheme, signed_in_page, policies_url, admin_user, workspace, two_tokens, screenshots_dir
):
    page = signed_in_page(admin_user, color_scheme=scheme, viewport=VIEWPORT)
    page.goto(policies_url)
    expect(page.get_by_role("button", name="Save policies")).to_be_visible()
    check_scheme(page, scheme)
    full = screenshots_dir / f"policies-{scheme}.png"
    page.screenshot(path=full, full_page=True)

    # Focus stays in the field while the impact shows: the focus ring must show too.
    lifetime(page).focus()
    page.keyboard.type("30")
    expect(impact(page)).to_contain_text("1 active token expires more than 30 days")
    expect(lifetime(page)).to_be_focused()
    typed = screenshots_dir / f"policies-impact-{scheme}.png"
    page.screenshot(path=typed)

    for path in (full, typed):
        assert path.stat().st_size > 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_resources_tab(
    scheme,
    signed_in_page,
    resources_url,
    admin_user,
    workspace,
    billing,
    billing_only,
    cache,
    screenshots_dir,
):
    Resource.objects.create(
        workspace=workspace, name="orders-db", kind="database", description="Orders and invoices"
    )
    page = signed_in_page(admin_user, color_scheme=scheme, viewport=VIEWPORT)
    page.goto(resources_url)
    expect(resource_rows(page)).to_have_count(3)
    check_scheme(page, scheme)
    shots = []

    def shoot(name: str, **options) -> None:
        path = screenshots_dir / f"resources-{name}-{scheme}.png"
        page.screenshot(path=path, **options)
        shots.append(path)

    full = screenshots_dir / f"resources-{scheme}.png"
    page.screenshot(path=full, full_page=True)
    shots.append(full)

    page.locator("#add-resource").click()
    expect(dialog(page).get_by_label("Name")).to_be_focused()
    shoot("add")
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()

    page.get_by_role("link", name="Delete billing-app").click()
    expect(dialog(page).get_by_role("alert")).to_be_visible()
    expect(dialog(page).get_by_role("link", name="Close").last).to_be_focused()
    shoot("delete-blocked")

    for path in shots:
        assert path.stat().st_size > 0
