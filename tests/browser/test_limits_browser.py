"""Edit limits in real Chromium: a field error in the modal, then the row's usage bar."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gateway.limit_models import TokenLimits
from gateway.limit_services import Quota, RateLimit, token_limits_set
from tests.browser.helpers import assert_not_reloaded, dialog, mark_document, watch_console
from tests.factories import actor_of, issue

pytestmark = pytest.mark.playwright


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_edit_limits_then_see_the_usage_bar(
    scheme, live_server, signed_in_page, manager_user, workspace, screenshots_dir
):
    token, _ = issue(manager_user, workspace, "ci-deploy", scopes=["tokens:read"])
    metered, metered_secret = issue(manager_user, workspace, "grafana-reader")
    token_limits_set(
        actor=actor_of(manager_user, workspace),
        token=metered,
        rate=RateLimit(5, "second", 10),
        quota=Quota(10, "month"),
    )
    page = signed_in_page(
        manager_user, color_scheme=scheme, viewport={"width": 1280, "height": 800}
    )
    errors = watch_console(page)
    # Eight uses of the metered token's quota, through the API.
    for _ in range(8):
        answer = page.request.get(
            f"{live_server.url}/api/v1/whoami",
            headers={"Authorization": f"Bearer {metered_secret}"},
        )
        assert answer.ok
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    mark_document(page)
    row = page.locator(f"#token-{metered.public_id}")
    expect(row.locator(".usage")).to_contain_text("8 of 10 uses this month")
    expect(row).to_contain_text("Up to 5 requests per second, burst 10")

    page.get_by_role("link", name="Edit limits ci-deploy").click()
    expect(dialog(page).get_by_role("heading", name="Edit limits")).to_be_visible()
    dialog(page).get_by_label("Requests").fill("100")
    dialog(page).get_by_label("Burst").fill("50")
    dialog(page).get_by_label("Uses").fill("5000")
    dialog(page).get_by_role("button", name="Save limits").click()
    expect(dialog(page).locator(".errors")).to_contain_text("at least the rate")
    page.screenshot(path=screenshots_dir / f"limits-dialog-{scheme}.png")

    dialog(page).get_by_label("Burst").fill("200")
    dialog(page).get_by_role("button", name="Save limits").click()
    expect(dialog(page)).to_be_hidden()
    changed = page.locator(f"#token-{token.public_id}")
    expect(changed).to_contain_text("Up to 100 requests per minute, burst 200")
    expect(changed.locator(".usage")).to_contain_text("0 of 5,000 uses this month")
    expect(page.locator(f"#limits-{token.public_id}")).to_be_focused()
    assert_not_reloaded(page)
    assert TokenLimits.objects.get(token=token).burst == 200
    page.screenshot(path=screenshots_dir / f"limits-list-{scheme}.png", full_page=True)
    assert errors == []
