"""Settings → Audit log in real Chromium: filter through HTMX, page, export CSV, looks."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import AuditEvent, Membership, User, Workspace
from tests.accounts.test_audit_tab import CSV_HEADER
from tests.browser.helpers import assert_not_reloaded, mark_document
from tokens import services
from tokens.actors import Actor

pytestmark = pytest.mark.playwright


# Helpers -------------------------------------------------------------------------


def rows(page: Page):
    return page.locator("#audit-table tbody tr")


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def download_csv(page: Page) -> tuple[str, list[list[str]]]:
    """Click Export CSV; return the download's file name and its rows."""
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    with open(download.path(), encoding="utf-8", newline="") as handle:
        return download.suggested_filename, list(csv.reader(handle))


def token_story(user: User, workspace: Workspace) -> None:
    """Create three tokens, rename one, revoke another: five token events."""
    actor = Actor.member(
        Membership.objects.select_related("user").get(user=user, workspace=workspace)
    )
    deploy, _ = services.token_create(
        actor=actor, workspace=workspace, name="ci-deploy", scopes=["tokens:read"]
    )
    services.token_create(actor=actor, workspace=workspace, name="grafana", scopes=["tokens:read"])
    legacy, _ = services.token_create(
        actor=actor, workspace=workspace, name="legacy-sync", scopes=["tokens:read"]
    )
    services.token_rename(actor=actor, token=deploy, name="ci-deploy-prod")
    services.token_revoke(actor=actor, token=legacy)


def old_events(workspace: Workspace, user: User) -> None:
    """Store events 10 and 40 days old, outside and inside a date range."""
    now = timezone.now()
    for days, label in ((10, "ten-days-ago"), (40, "forty-days-ago")):
        AuditEvent.objects.create(
            workspace=workspace,
            action="member.invited",
            actor_user=user,
            actor_label=user.email,
            target_type="invitation",
            target_id=str(days),
            target_label=label,
            ip="203.0.113.7",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130",
            details={"email": f"{label}@example.com", "role": "member"},
            created_at=now - timedelta(days=days),
        )


@pytest.fixture
def audit_url(live_server, workspace: Workspace) -> str:
    """Return the absolute URL of the workspace's Settings → Audit log tab."""
    return f"{live_server.url}/w/{workspace.slug}/settings/audit/"


@pytest.fixture
def story(admin_user, workspace):
    token_story(admin_user, workspace)
    old_events(workspace, admin_user)


# Filtering ------------------------------------------------------------------------


def test_filter_by_action_and_dates_through_htmx(
    signed_in_page, audit_url, admin_user, workspace, story
):
    page = signed_in_page(admin_user)
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(audit_url)
    tab = page.get_by_role("navigation", name="Settings").get_by_role("link", name="Audit log")
    expect(tab).to_have_attribute("aria-current", "page")
    expect(rows(page)).to_have_count(7)
    mark_document(page)

    # Action: the select offers what happened in this workspace.
    action = page.get_by_label("Action", exact=True)
    options = action.locator("option").all_inner_texts()
    assert options == [
        "All actions",
        "member.invited",
        "token.created",
        "token.renamed",
        "token.revoked",
    ]
    action.select_option("token.created")
    expect(rows(page)).to_have_count(3)
    for row in rows(page).all():
        expect(row.locator("td").nth(1)).to_have_text("token.created")
    expect(page).to_have_url(re.compile(r"[?&]action=token\.created(&|$)"))
    assert query_of(page)["action"] == ["token.created"]
    assert_not_reloaded(page)

    action.select_option("token.revoked")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("legacy-sync")
    expect(page).to_have_url(re.compile(r"[?&]action=token\.revoked(&|$)"))

    # Dates: back to all actions, then a range that holds only the ten-day-old event.
    action.select_option("")
    expect(rows(page)).to_have_count(7)
    today = timezone.now().date()
    page.get_by_label("From", exact=True).fill((today - timedelta(days=20)).isoformat())
    page.get_by_label("To", exact=True).fill((today - timedelta(days=5)).isoformat())
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("ten-days-ago")
    expect(rows(page).first).to_contain_text("member.invited")
    since = (today - timedelta(days=20)).isoformat()
    until = (today - timedelta(days=5)).isoformat()
    expect(page).to_have_url(re.compile(rf"[?&]since={since}&until={until}(&|$)"))

    # Without an end date: the ten-day-old event and today's five.
    page.get_by_label("To", exact=True).fill("")
    expect(rows(page)).to_have_count(6)
    # Typing in the actor box narrows as you type (after a short pause).
    page.get_by_label("Actor", exact=True).fill("nobody@")
    expect(page.locator("#audit-table")).to_contain_text("No events match")
    expect(page).to_have_url(re.compile(r"[?&]actor=nobody%40(&|$)"))
    assert_not_reloaded(page)

    # The pushed URL is a real page: loading it shows the same filters and rows.
    page.get_by_label("Actor", exact=True).fill("")
    expect(rows(page)).to_have_count(6)
    expect(page).to_have_url(re.compile(r"[?&]actor=(&|$)"))
    page.reload()
    expect(rows(page)).to_have_count(6)
    expect(page.get_by_label("From", exact=True)).to_have_value(
        (today - timedelta(days=20)).isoformat()
    )
    assert console_errors == []


def test_pages_through_a_long_log_keeping_the_filter(
    signed_in_page, audit_url, admin_user, workspace
):
    start = timezone.now() - timedelta(hours=3)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            workspace=workspace,
            action="token.used" if n % 2 else "token.checked",
            actor_label="ci@example.com",
            target_label=f"evt-{n:03d}",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(130)
    )
    page = signed_in_page(admin_user)
    page.goto(audit_url)
    mark_document(page)
    page.get_by_label("Action", exact=True).select_option("token.used")
    pages = page.get_by_role("navigation", name="Audit log pages")
    expect(pages).to_contain_text("Page 1 of 2 · 65 events")
    expect(rows(page)).to_have_count(50)

    pages.get_by_role("link", name="Next").click()
    expect(pages).to_contain_text("Page 2 of 2 · 65 events")
    expect(rows(page)).to_have_count(15)
    expect(rows(page).last).to_contain_text("evt-001")
    expect(page).to_have_url(re.compile(r"\?action=token\.used&page=2$"))
    expect(page.get_by_label("Action", exact=True)).to_have_value("token.used")

    pages.get_by_role("link", name="Previous").click()
    expect(pages).to_contain_text("Page 1 of 2 · 65 events")
    expect(rows(page).first).to_contain_text("evt-129")
    assert_not_reloaded(page)


# CSV export ---------------------------------------------------------------------


def test_export_downloads_the_filtered_events_of_a_filtered_page(
    signed_in_page, audit_url, admin_user, workspace, story
):
    page = signed_in_page(admin_user)
    page.goto(f"{audit_url}?action=token.created")
    expect(rows(page)).to_have_count(3)

    name, records = download_csv(page)
    assert re.fullmatch(r"keyward-audit-acme-\d{8}-\d{4}\.csv", name)
    assert records[0] == CSV_HEADER
    exported = [dict(zip(CSV_HEADER, row, strict=True)) for row in records[1:]]
    # Newest first, each under the name the token had at the time.
    assert [(r["action"], r["target"]) for r in exported] == [
        ("token.created", "legacy-sync"),
        ("token.created", "grafana"),
        ("token.created", "ci-deploy"),
    ]
    assert {r["actor"] for r in exported} == {admin_user.email}


def test_export_after_filtering_through_htmx_holds_only_the_filtered_events(
    signed_in_page, audit_url, admin_user, workspace, story
):
    page = signed_in_page(admin_user)
    page.goto(audit_url)
    expect(rows(page)).to_have_count(7)
    page.get_by_label("Action", exact=True).select_option("token.renamed")
    expect(rows(page)).to_have_count(1)

    _, records = download_csv(page)
    assert records[0] == CSV_HEADER
    assert [row[1] for row in records[1:]] == ["token.renamed"]


def test_export_after_filtering_by_dates_through_htmx(
    signed_in_page, audit_url, admin_user, workspace, story
):
    """The filter form pushes its URL; a reload of it exports exactly the range."""
    page = signed_in_page(admin_user)
    page.goto(audit_url)
    today = timezone.now().date()
    page.get_by_label("From", exact=True).fill((today - timedelta(days=60)).isoformat())
    page.get_by_label("To", exact=True).fill((today - timedelta(days=1)).isoformat())
    expect(rows(page)).to_have_count(2)
    page.reload()
    expect(rows(page)).to_have_count(2)

    _, records = download_csv(page)
    assert records[0] == CSV_HEADER
    assert [row[6] for row in records[1:]] == ["ten-days-ago", "forty-days-ago"]


# History --------------------------------------------------------------------------------


def test_back_to_a_filtered_url_shows_the_whole_page(
    signed_in_page, audit_url, admin_user, workspace, story
):
    page = signed_in_page(admin_user)
    page.goto(audit_url)
    page.get_by_label("Action", exact=True).select_option("token.created")
    expect(rows(page)).to_have_count(3)
    expect(page).to_have_url(re.compile(r"[?&]action=token\.created(&|$)"))
    settings_nav = page.get_by_role("navigation", name="Settings")
    settings_nav.get_by_role("link", name="Members").click()
    expect(page).to_have_url(re.compile(r"/settings/members/$"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"[?&]action=token\.created(&|$)"))
    expect(rows(page)).to_have_count(3)
    expect(page.locator("#audit-filters")).to_be_visible()
    expect(settings_nav).to_be_visible()


# Looks --------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_audit_log(
    scheme, signed_in_page, audit_url, admin_user, workspace, story, screenshots_dir
):
    page = signed_in_page(admin_user, color_scheme=scheme, viewport={"width": 1280, "height": 800})
    page.goto(audit_url)
    expect(rows(page)).to_have_count(7)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    full = screenshots_dir / f"audit-{scheme}.png"
    page.screenshot(path=full, full_page=True)

    # Keyboard focus on the action select, filtered; the focus ring must show.
    page.get_by_label("Action", exact=True).focus()
    page.keyboard.press("ArrowDown")  # the first action: member.invited
    expect(rows(page)).to_have_count(2)
    focused = screenshots_dir / f"audit-filtered-{scheme}.png"
    page.screenshot(path=focused)

    for path in (full, focused):
        assert path.stat().st_size > 0
