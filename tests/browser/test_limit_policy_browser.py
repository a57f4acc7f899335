"""Settings → Limits & usage in real Chromium: a refused value keeps what was typed, saving
swaps the form in place, and the Add token dialog then offers the new defaults; typing a
ceiling previews the tokens it caps, and saving caps them; how the tab looks, light and
dark."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from gateway.limit_models import LimitPolicy, TokenLimits
from gateway.usage_models import UsageSettings
from tests.browser.accessibility import assert_accessible, assert_focus_visible
from tests.browser.helpers import assert_not_reloaded, dialog, mark_document, watch_console
from tests.factories import issue

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 800}
BURST = re.compile(r"^Burst")  # not "Largest burst"


def policy_form(page: Page):
    return page.locator("#limit-policy")


def test_edit_the_policy_then_the_add_dialog_offers_its_defaults(
    live_server, signed_in_page, admin_user, workspace
):
    page = signed_in_page(admin_user, viewport=VIEWPORT)
    errors = watch_console(page)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/policies/")
    settings = page.get_by_role("navigation", name="Settings")
    settings.get_by_role("link", name="Limits & usage").click()
    expect(settings.get_by_role("link", name="Limits & usage")).to_have_attribute(
        "aria-current", "page"
    )
    mark_document(page)

    form = policy_form(page)
    form.get_by_label("Requests").fill("30")
    form.get_by_label("Per", exact=True).select_option("minute")
    form.get_by_label(BURST).fill("60")
    form.get_by_label("Uses").fill("6000")
    form.get_by_label("Fastest rate").fill("600")
    form.get_by_label("Largest quota").fill("5000")
    form.get_by_label("Email a token's owner").check()
    form.get_by_role("button", name="Save limits & usage").click()

    # Refused: the error sits under its field, and everything typed is still there.
    quota_error = form.locator("#id_default_quota_error")
    expect(quota_error).to_have_text("This workspace allows a quota of at most 5000 uses.")
    expect(form.get_by_label("Uses")).to_have_value("6000")
    expect(form.get_by_label("Uses")).to_be_focused()
    expect(form.get_by_label("Requests")).to_have_value("30")
    expect(form.get_by_label(BURST)).to_have_value("60")
    expect(form.get_by_label("Fastest rate")).to_have_value("600")
    expect(form.get_by_label("Email a token's owner")).to_be_checked()
    assert not LimitPolicy.objects.exists()

    form.get_by_label("Uses").fill("1000")
    form.get_by_role("button", name="Save limits & usage").click()
    expect(page.locator("#toasts")).to_contain_text("Limits & usage saved.")
    expect(form.locator(".errors")).to_have_count(0)
    expect(form.locator("#new-token-limits")).to_have_text(
        "A token created now without limits of its own gets "
        "30 requests per minute (burst 60); 1,000 uses each month."
    )
    assert_not_reloaded(page)
    policy = LimitPolicy.objects.get(workspace=workspace)
    assert (policy.default_rate, policy.default_burst, policy.default_quota) == (30, 60, 1000)
    assert UsageSettings.objects.get(workspace=workspace).email_on_new_ip

    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    page.locator("#add-token").click()
    expect(dialog(page).get_by_role("heading", name="Add token")).to_be_visible()
    dialog(page).locator("summary", has_text="Limits").click()
    expect(dialog(page).locator("#id_limits-rate")).to_have_value("30")
    expect(dialog(page).locator("#id_limits-rate_period")).to_have_value("minute")
    expect(dialog(page).locator("#id_limits-burst")).to_have_value("60")
    expect(dialog(page).locator("#id_limits-quota")).to_have_value("1000")
    expect(dialog(page)).to_contain_text(
        "This workspace allows at most 600 requests per minute, a quota of 5000 uses."
    )
    assert errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_limits_tab(
    scheme, live_server, signed_in_page, admin_user, workspace, screenshots_dir
):
    LimitPolicy.objects.create(
        workspace=workspace,
        default_rate=10,
        default_rate_period="second",
        default_burst=20,
        max_rate_per_minute=1200,
        max_burst=50,
        max_quota=100000,
    )
    page = signed_in_page(admin_user, color_scheme=scheme, viewport=VIEWPORT)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/limits/")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    full = screenshots_dir / f"limits-policy-{scheme}.png"
    page.screenshot(path=full, full_page=True)

    policy_form(page).get_by_label(BURST).fill("5")
    policy_form(page).get_by_role("button", name="Save limits & usage").click()
    expect(policy_form(page).locator("#id_default_burst_error")).to_be_visible()
    refused = screenshots_dir / f"limits-policy-error-{scheme}.png"
    page.screenshot(path=refused, full_page=True)
    for path in (full, refused):
        assert path.stat().st_size > 0


def test_the_limits_tab_is_accessible_with_and_without_errors(
    live_server, signed_in_page, admin_user, workspace
):
    page = signed_in_page(admin_user, viewport=VIEWPORT)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/limits/")
    assert_accessible(page, "limits-policy")
    assert assert_focus_visible(page, "limits-policy") > 5
    policy_form(page).get_by_label("Largest quota").fill("0")
    policy_form(page).get_by_role("button", name="Save limits & usage").click()
    expect(policy_form(page).get_by_label("Largest quota")).to_be_focused()
    expect(policy_form(page).get_by_label("Largest quota")).to_have_accessible_description(
        re.compile("greater than or equal to 1")
    )
    assert_accessible(page, "limits-policy-error")


def test_typing_a_ceiling_previews_the_tokens_it_caps_and_saving_caps_them(
    live_server, signed_in_page, admin_user, workspace
):
    # Issued before any ceiling: no limits of their own.
    fast, _ = issue(admin_user, workspace, "fast")
    TokenLimits.objects.create(token=fast, rate=30, rate_period="second", burst=30)
    issue(admin_user, workspace, "unlimited")
    slow, _ = issue(admin_user, workspace, "slow")
    TokenLimits.objects.create(token=slow, rate=10, rate_period="minute", burst=10)
    page = signed_in_page(admin_user, viewport=VIEWPORT)
    errors = watch_console(page)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/limits/")
    mark_document(page)
    form = policy_form(page)
    impact = form.get_by_role("status")
    expect(impact).to_have_text("")

    form.get_by_label("Fastest rate").fill("1200")
    expect(impact).to_have_text(
        "Saving caps 2 active tokens beyond these ceilings (or without a limit they cap): "
        "their limits become the ceilings."
    )
    form.get_by_label("Fastest rate").fill("0")
    expect(impact).to_have_text("")
    form.get_by_label("Fastest rate").fill("1200")
    expect(impact).to_contain_text("Saving caps 2 active tokens")
    assert not TokenLimits.objects.filter(rate=1200).exists()

    form.get_by_role("button", name="Save limits & usage").click()
    expect(page.locator("#toasts")).to_contain_text(
        "Limits & usage saved; 2 active tokens capped to the ceilings."
    )
    expect(impact).to_have_text(
        "Saving caps no token: every active token is within these ceilings."
    )
    assert_not_reloaded(page)
    fast_limits = TokenLimits.objects.get(token=fast)
    assert (fast_limits.rate, fast_limits.rate_period, fast_limits.burst) == (1200, "minute", 1200)
    assert TokenLimits.objects.get(token__name="unlimited").rate == 1200
    assert TokenLimits.objects.get(token=slow).rate == 10
    assert_accessible(page, "limits-policy-capped")
    assert errors == []
