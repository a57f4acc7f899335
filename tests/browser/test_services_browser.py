"""HTTP services in real Chromium: guard a resource from Settings → Resources (a malformed
rule first, then a good one, nothing typed lost), and the service's scopes in the Add
token dialog with its live summary; screenshots light and dark."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Workspace
from gateway.models import Service
from tests.browser.helpers import assert_not_reloaded, dialog, mark_document, watch_console
from tests.factories import issue
from tokens.models import Resource

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture
def orders(workspace: Workspace, admin_user) -> Resource:
    resource = Resource.objects.create(
        workspace=workspace, name="Orders API", kind="application", description="Orders"
    )
    issue(admin_user, workspace, "orders-ci", resource_ids=[resource.pk])
    Resource.objects.create(workspace=workspace, name="warehouse-db", kind="database")
    return resource


def check_scheme(page: Page, scheme: str) -> None:
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_admin_guards_a_resource_then_gives_a_token_its_read_scope(
    scheme, signed_in_page, live_server, admin_user, workspace, orders, screenshots_dir
):
    page = signed_in_page(admin_user, color_scheme=scheme, viewport=VIEWPORT)
    errors = watch_console(page)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/resources/")
    check_scheme(page, scheme)
    row = page.locator(f"#resource-{orders.pk}")
    expect(row).to_contain_text("Label only")
    mark_document(page)
    shots = []

    def shoot(name: str, **options) -> None:
        path = screenshots_dir / f"services-{name}-{scheme}.png"
        page.screenshot(path=path, **options)
        shots.append(path)

    # A malformed rule: a field error under the field, what was typed still there.
    page.get_by_role("link", name="Guard as HTTP service Orders API").click()
    expect(dialog(page).get_by_role("heading", name="Guard as HTTP service")).to_be_visible()
    rules = dialog(page).get_by_label("Match rules")
    rules.fill("orders example com/v1")
    dialog(page).get_by_label("Methods that only read").fill("GET HEAD OPTIONS")
    dialog(page).get_by_role("button", name="Guard service").click()
    expect(dialog(page).locator(".errors")).to_contain_text("is not a host name")
    expect(rules).to_have_value("orders example com/v1")
    shoot("rule-error")

    rules.fill("orders.example.com/v1\n*.orders.example.com")
    dialog(page).get_by_role("button", name="Guard service").click()
    expect(dialog(page)).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text("Orders API is now guarded as an HTTP service.")
    expect(row).to_contain_text("orders.example.com/v1")
    expect(row).to_contain_text("orders-api:read")
    assert_not_reloaded(page)
    assert Service.objects.get(resource=orders).slug == "orders-api"
    shoot("list", full_page=True)

    # The Add token dialog lists the service's scopes under its name; the summary follows.
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    page.locator("#add-token").click()
    expect(dialog(page).get_by_role("heading", name="Add token")).to_be_visible()
    dialog(page).get_by_label("Name", exact=True).fill("orders-reader")
    dialog(page).get_by_text("Choose scopes").click()
    checked = dialog(page).locator('input[name="scopes"]:checked')
    while checked.count():
        checked.first.uncheck()
    read = dialog(page).get_by_role("checkbox", name="Read Orders API")
    read.check()
    expect(dialog(page).locator(".scope-group")).to_contain_text("Orders API")
    read.scroll_into_view_if_needed()
    expect(page.locator("#token-summary")).to_contain_text(
        "This workspace token can: call Orders API with GET, HEAD, OPTIONS."
    )
    shoot("add-token-scopes")
    page.locator("#token-summary").scroll_into_view_if_needed()
    shoot("add-token-summary")
    dialog(page).get_by_role("button", name="Create token").click()
    expect(dialog(page).get_by_role("heading", name="Copy your new token")).to_be_visible()
    expect(dialog(page)).to_contain_text("orders-api:read")

    assert errors == []
    for path in shots:
        assert path.stat().st_size > 0
