"""Settings → Tokens in real Chromium: create and reveal once, copy, CSV, rename, rotate, revoke.

Secrets read from the page are checked against the JSON API (/api/v1/whoami) on the
same live server, so the tests prove that what the user copies is a working token.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Membership, Workspace
from tests.browser.helpers import assert_not_reloaded, dialog, mark_document
from tests.factories import actor_of, issue
from tokens import services
from tokens.actors import Actor
from tokens.models import Token, TokenKind

pytestmark = pytest.mark.playwright

CLIPBOARD = ["clipboard-read", "clipboard-write"]
SECRET = re.compile(r"^kww_[A-Za-z0-9_]{20,}$")
MASKED = re.compile(r"^kww_[A-Za-z0-9_]*•+[A-Za-z0-9_]{4}$")
CSV_HEADER = ["name", "token_id", "token", "scopes", "expires_at"]


# Helpers -------------------------------------------------------------------------


def token_row(page: Page, token: Token):
    return page.locator(f"#token-{token.public_id}")


def rows_named(page: Page, name: str):
    return page.locator("#token-table tbody tr", has=page.locator(".token-name", has_text=name))


def secret_code(page: Page):
    return dialog(page).locator("[data-secret-code]")


def reveal_toggle(page: Page):
    return dialog(page).locator("[data-reveal-toggle]")


def whoami(page: Page, live_server, secret: str):
    """Call the JSON API with `secret` as a Bearer token, from the page's context."""
    return page.request.get(
        f"{live_server.url}/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"}
    )


def open_create_form(page: Page) -> None:
    page.locator("#add-token").click()
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).get_by_role("heading", name="Add token")).to_be_visible()
    expect(dialog(page).get_by_label("Name", exact=True)).to_be_focused()


def create_token(page: Page, name: str) -> None:
    """Fill in the Add token form with `name` and the defaults; submit it."""
    open_create_form(page)
    dialog(page).get_by_label("Name", exact=True).fill(name)
    dialog(page).get_by_role("button", name="Create token").click()
    expect(dialog(page).get_by_role("heading", name="Copy your new token")).to_be_visible()


def revealed_secret(page: Page) -> str:
    """Return the secret shown in the reveal, leaving the reveal as it found it."""
    code = secret_code(page)
    pressed = reveal_toggle(page).get_attribute("aria-pressed")
    if pressed != "true":
        reveal_toggle(page).click()
        expect(reveal_toggle(page)).to_have_attribute("aria-pressed", "true")
    expect(code).to_have_text(SECRET)
    value = code.inner_text().strip()
    if pressed != "true":
        reveal_toggle(page).click()
        expect(reveal_toggle(page)).to_have_attribute("aria-pressed", "false")
    return value


@pytest.fixture
def tokens_url(live_server, workspace: Workspace) -> str:
    """Return the absolute URL of the workspace's Settings → Tokens tab."""
    return f"{live_server.url}/w/{workspace.slug}/settings/tokens/"


# Creation and the one-time reveal -------------------------------------------------


def test_manager_creates_reveals_copies_and_uses_a_token(
    signed_in_page, tokens_url, manager_user, workspace, live_server
):
    page = signed_in_page(manager_user, permissions=CLIPBOARD)
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(tokens_url)
    mark_document(page)

    open_create_form(page)
    form = dialog(page)
    form.get_by_label("Name", exact=True).fill("ci-deploy")
    form.get_by_label("Description").fill("Deploys from GitHub Actions")
    expect(form.get_by_role("radio", name="Workspace")).to_be_checked()
    # The live summary follows the form.
    form.get_by_label("Allowed IP ranges").fill("203.0.113.0/24")
    expect(page.locator("#token-summary")).to_contain_text("This workspace token can")
    expect(page.locator("#token-summary")).to_contain_text("Only from 203.0.113.0/24.")
    form.get_by_label("Allowed IP ranges").fill("")
    expect(page.locator("#token-summary")).to_contain_text("From any IP address.")
    form.get_by_role("button", name="Create token").click()

    # The reveal replaces the form in the same modal, censored by default.
    expect(form.get_by_role("heading", name="Copy your new token")).to_be_visible()
    expect(form).to_contain_text("will not show this token again")
    expect(form.get_by_role("link", name="Done")).to_be_focused()
    code = secret_code(page)
    toggle = form.get_by_role("button", name="Reveal token")
    expect(code).to_have_text(MASKED)
    expect(toggle).to_have_attribute("aria-pressed", "false")

    # The eye shows the value, then hides it again.
    toggle.click()
    hide = form.get_by_role("button", name="Hide token")
    expect(hide).to_have_attribute("aria-pressed", "true")
    expect(code).to_have_text(SECRET)
    secret = code.inner_text().strip()
    hide.click()
    expect(form.get_by_role("button", name="Reveal token")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(code).to_have_text(MASKED)
    assert secret not in form.inner_text()

    token = Token.objects.get(workspace=workspace, name="ci-deploy")
    assert secret.endswith(token.last_four)
    assert token.kind == TokenKind.WORKSPACE

    # Copy with the button; read the clipboard back.
    form.get_by_role("button", name="Copy token").click()
    expect(form.locator("[data-copy-status]")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == secret

    # A click on the code block copies too (clear the clipboard first to prove it).
    page.evaluate("navigator.clipboard.writeText('')")
    form.locator("[data-copy-status]").evaluate("el => { el.textContent = '' }")
    code.click()
    expect(form.locator("[data-copy-status]")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    expect(code).to_have_text(MASKED)  # copying does not reveal it

    # What was copied authenticates against the API.
    response = whoami(page, live_server, copied)
    assert response.status == 200
    body = response.json()
    assert body["name"] == "ci-deploy"
    assert body["id"] == token.public_id
    assert body["workspace"]["slug"] == workspace.slug

    # The GitHub Actions snippet names the repository secret.
    form.get_by_text("Use it in GitHub Actions").click()
    expect(form.locator(".snippet pre")).to_contain_text("${{ secrets.KEYWARD_TOKEN }}")

    form.get_by_role("link", name="Done").click()
    expect(dialog(page)).to_be_hidden()
    expect(page.locator("#add-token")).to_be_focused()
    row = token_row(page, token)
    expect(row).to_contain_text("ci-deploy")
    expect(row).to_contain_text("Deploys from GitHub Actions")
    expect(row.locator("code.censored")).to_have_text(token.censored)
    expect(row).to_contain_text("Active")
    expect(page.locator("#toasts")).to_contain_text("Token ci-deploy created.")
    # The reveal leaves the page with the modal: the secret is nowhere in the DOM.
    expect(page.locator("[data-secret-code]")).to_have_count(0)
    assert secret not in page.content()
    assert_not_reloaded(page)
    # The secret travelled in one response only: the answer to "Create token".
    carrying = [
        (r.request.method, r.url)
        for r in responses
        if r.request.resource_type in {"document", "xhr", "fetch"}
        and r.status == 200
        and secret in r.text()
    ]
    assert carrying == [("POST", f"{tokens_url}new/")]
    assert console_errors == []  # no script error, no CSP violation


def test_copy_falls_back_to_selecting_the_token_when_the_clipboard_is_refused(
    signed_in_page, tokens_url, manager_user
):
    page = signed_in_page(manager_user)
    page.goto(tokens_url)
    # Refuse the Clipboard API, as a browser without permission would.
    page.evaluate(
        "Object.defineProperty(navigator, 'clipboard', {value: {writeText: () =>"
        " Promise.reject(new DOMException('denied', 'NotAllowedError'))}})"
    )
    create_token(page, "no-clipboard")

    dialog(page).get_by_role("button", name="Copy token").click()
    status = dialog(page).locator("[data-copy-status]")
    expect(status).to_contain_text("blocked copying")
    expect(secret_code(page)).to_have_text(SECRET)
    expect(reveal_toggle(page)).to_have_attribute("aria-pressed", "true")
    selected = page.evaluate("window.getSelection().toString()")
    assert selected == secret_code(page).inner_text().strip()


def test_download_csv_holds_the_same_token(
    signed_in_page, tokens_url, manager_user, workspace, live_server
):
    page = signed_in_page(manager_user)
    page.goto(tokens_url)
    create_token(page, "csv-export")
    secret = revealed_secret(page)

    link = dialog(page).get_by_role("link", name="Download CSV")
    expect(link).to_have_attribute("href", re.compile(r"^data:text/csv"))
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "keyward-token-csv-export.csv"
    with open(download.path(), encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))

    token = Token.objects.get(workspace=workspace, name="csv-export")
    assert rows[0] == CSV_HEADER
    assert len(rows) == 2
    record = dict(zip(CSV_HEADER, rows[1], strict=True))
    assert record["name"] == "csv-export"
    assert record["token_id"] == token.public_id
    assert record["token"] == secret
    assert record["scopes"] == " ".join(token.scopes)
    assert record["expires_at"] == token.expires_at.isoformat()
    assert whoami(page, live_server, record["token"]).status == 200


def test_create_errors_stay_in_the_modal_next_to_their_fields(
    signed_in_page, tokens_url, manager_user, workspace
):
    page = signed_in_page(manager_user)
    page.goto(tokens_url)
    mark_document(page)
    open_create_form(page)
    form = dialog(page)
    form.get_by_label("Name", exact=True).fill("edge-proxy")
    form.get_by_label("Description").fill("Runs at the edge")
    ips = form.get_by_label("Allowed IP ranges")
    ips.fill("10.0.0.0/8\nnot-a-cidr")
    form.get_by_role("button", name="Create token").click()

    expect(form.locator("#id_allowed_ips_error")).to_contain_text("not-a-cidr")
    expect(ips).to_have_attribute("aria-invalid", "true")
    expect(ips).to_be_focused()
    expect(ips).to_have_value("10.0.0.0/8\nnot-a-cidr")
    expect(form.get_by_label("Name", exact=True)).to_have_value("edge-proxy")
    expect(form.get_by_label("Description")).to_have_value("Runs at the edge")

    # A custom date in the past: the error is next to the date, which gets the focus.
    ips.fill("10.0.0.0/8")
    form.get_by_role("radio", name="Custom date").check()
    expect(form.get_by_label("Expires on")).to_be_visible()
    form.get_by_label("Expires on").fill("2020-01-01")
    form.get_by_role("button", name="Create token").click()
    expect(form).to_contain_text("Choose an expiry date in the future.")
    expect(form.get_by_role("radio", name="Custom date")).to_be_checked()
    expect(form.get_by_label("Expires on")).to_be_focused()
    expect(form.get_by_label("Expires on")).to_have_value("2020-01-01")
    expect(ips).to_have_value("10.0.0.0/8")
    assert not Token.objects.filter(workspace=workspace).exists()
    assert_not_reloaded(page)


# Row actions --------------------------------------------------------------------------


def test_rename_shows_a_duplicate_error_in_the_modal_then_updates_the_row(
    signed_in_page, tokens_url, manager_user, workspace
):
    token, _ = issue(manager_user, workspace, "ci-deploy", description="old words")
    issue(manager_user, workspace, "nightly-backup")
    page = signed_in_page(manager_user)
    page.goto(tokens_url)
    mark_document(page)

    rename = page.get_by_role("link", name="Rename ci-deploy")
    expect(rename).to_have_attribute("id", f"rename-{token.public_id}")
    rename.click()
    expect(dialog(page).get_by_role("heading", name="Rename token")).to_be_visible()
    name = dialog(page).get_by_label("Name", exact=True)
    description = dialog(page).get_by_label("Description")
    expect(name).to_have_value("ci-deploy")
    expect(description).to_have_value("old words")

    # A name another active token has: the error shows in the modal, the typing stays.
    name.fill("nightly-backup")
    description.fill("typed before the error")
    dialog(page).get_by_role("button", name="Save").click()
    expect(dialog(page).locator(".errors")).to_contain_text("nightly-backup")
    expect(dialog(page)).to_be_visible()
    expect(name).to_have_value("nightly-backup")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    expect(description).to_have_value("typed before the error")
    token.refresh_from_db()
    assert token.name == "ci-deploy"

    # A free name: the modal closes and the row changes in place.
    name.fill("ci-deploy-prod")
    dialog(page).get_by_role("button", name="Save").click()
    expect(dialog(page)).to_be_hidden()
    row = token_row(page, token)
    expect(row.locator(".token-name")).to_contain_text("ci-deploy-prod")
    expect(row).to_contain_text("typed before the error")
    expect(page.get_by_role("link", name="Rename ci-deploy-prod")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("Token renamed to ci-deploy-prod.")
    # Focus goes back to the (new) pencil of the same row.
    expect(page.locator(f"#rename-{token.public_id}")).to_be_focused()
    assert_not_reloaded(page)
    token.refresh_from_db()
    assert (token.name, token.description) == ("ci-deploy-prod", "typed before the error")


def drag(page: Page, start: dict, end: dict) -> None:
    """Press the mouse at `start`, move to `end` and let go there, as when selecting text."""
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move(end["x"], end["y"], steps=5)
    page.mouse.up()


def outside(box: dict) -> dict:
    """Return a point on the backdrop, left of the dialog whose bounding box is `box`."""
    return {"x": max(box["x"] - 40, 5), "y": box["y"] + box["height"] / 2}


def test_stray_clicks_and_text_selection_do_not_close_dialogs(
    signed_in_page, tokens_url, manager_user
):
    page = signed_in_page(manager_user)
    page.goto(tokens_url)
    open_create_form(page)
    name = dialog(page).get_by_label("Name", exact=True)
    name.fill("ci-deploy")

    # Selecting the typed name and letting go on the backdrop keeps the form and its input.
    field = name.bounding_box()
    drag(
        page,
        {"x": field["x"] + field["width"] - 5, "y": field["y"] + 10},
        outside(dialog(page).bounding_box()),
    )
    expect(dialog(page).get_by_role("heading", name="Add token")).to_be_visible()
    expect(name).to_have_value("ci-deploy")

    dialog(page).get_by_role("button", name="Create token").click()
    expect(dialog(page).get_by_role("heading", name="Copy your new token")).to_be_visible()
    box = dialog(page).bounding_box()

    # The value is shown once: neither a selection dragged out nor a click on the
    # backdrop may close the dialog; only Done (or Escape) does.
    code = secret_code(page).bounding_box()
    drag(page, {"x": code["x"] + code["width"] - 5, "y": code["y"] + 5}, outside(box))
    page.mouse.click(**outside(box))
    expect(dialog(page).get_by_role("heading", name="Copy your new token")).to_be_visible()

    dialog(page).get_by_role("link", name="Done").click()
    expect(dialog(page)).to_be_hidden()

    # Other dialogs still close on a click that begins and ends on the backdrop.
    open_create_form(page)
    page.mouse.click(**outside(dialog(page).bounding_box()))
    expect(dialog(page)).to_be_hidden()


@pytest.mark.parametrize("width", [1280, 1024])
def test_every_revoke_button_is_in_view_whatever_the_names_and_widths(
    signed_in_page, tokens_url, manager_user, workspace, width
):
    """A long name or a rotated row must not push the actions out of the card."""
    long_name, _ = issue(manager_user, workspace, "x" * 100, description="y" * 200)
    rotated, _ = issue(manager_user, workspace, "ci-deploy-with-a-rather-long-name")
    services.token_rotate(actor=actor_of(manager_user, workspace), token=rotated, grace="1h")
    # Tall enough for every row: only the width is under test.
    page = signed_in_page(manager_user, viewport={"width": width, "height": 2000})
    page.goto(tokens_url)

    buttons = page.locator("a.icon-button.danger")
    expect(buttons).to_have_count(3)
    for index in range(3):
        expect(buttons.nth(index)).to_be_in_viewport()
    expect(page.locator(f"#revoke-{long_name.public_id}")).to_be_in_viewport()
    expect(page.locator(f"#revoke-{rotated.public_id}")).to_be_in_viewport()


def test_rotate_with_a_grace_period_reveals_the_new_secret_and_keeps_the_old_one_working(
    signed_in_page, tokens_url, manager_user, workspace, live_server
):
    old, old_secret = issue(manager_user, workspace, "ci-deploy")
    page = signed_in_page(manager_user)
    page.goto(tokens_url)
    mark_document(page)

    page.get_by_role("link", name="Rotate ci-deploy").click()
    expect(dialog(page).get_by_role("heading", name="Rotate token")).to_be_visible()
    expect(dialog(page)).to_contain_text(old.censored)
    dialog(page).get_by_role("radio", name="1 hour").check()
    dialog(page).get_by_role("button", name="Rotate token").click()

    # The new secret is revealed exactly as on creation.
    expect(dialog(page).get_by_role("heading", name="Copy your new token")).to_be_visible()
    expect(secret_code(page)).to_have_text(MASKED)
    new_secret = revealed_secret(page)
    assert new_secret != old_secret
    new = Token.objects.get(rotated_from=old)
    assert new_secret.endswith(new.last_four)
    expect(page.locator("#toasts")).to_contain_text("Token ci-deploy rotated.")

    # Both work during the grace period.
    assert whoami(page, live_server, new_secret).status == 200
    assert whoami(page, live_server, old_secret).status == 200

    # The table behind the modal was refreshed: the new row, and the old row saying
    # when it stops working.
    dialog(page).get_by_role("link", name="Done").click()
    expect(dialog(page)).to_be_hidden()
    expect(rows_named(page, "ci-deploy")).to_have_count(2)
    expect(token_row(page, new)).to_contain_text("Active")
    expect(page.get_by_role("link", name="Rotate ci-deploy")).to_have_count(1)
    old_row = token_row(page, old)
    expect(old_row).to_contain_text("rotated; old secret")
    expect(old_row.locator("time.warn")).to_have_text(re.compile(r"in (59\s+minutes|1\s+hour)"))
    expect(old_row.locator(f"#rotate-{old.public_id}")).to_have_count(0)
    assert_not_reloaded(page)


def test_revoke_cancel_changes_nothing_then_confirm_revokes_in_place(
    signed_in_page, tokens_url, manager_user, workspace, live_server
):
    token, secret = issue(manager_user, workspace, "ci-deploy")
    page = signed_in_page(manager_user)
    page.goto(tokens_url)
    mark_document(page)
    assert whoami(page, live_server, secret).status == 200
    page.reload()  # show the use the API just recorded
    mark_document(page)
    revoke = page.get_by_role("link", name="Revoke ci-deploy")
    expect(revoke).to_have_attribute("id", f"revoke-{token.public_id}")

    # Cancel: nothing changes, focus returns to the x.
    revoke.click()
    expect(dialog(page).get_by_role("heading", name="Revoke token")).to_be_visible()
    expect(dialog(page)).to_contain_text("Revoke ci-deploy")
    expect(dialog(page)).to_contain_text("Last used just now")
    cancel = dialog(page).get_by_role("link", name="Cancel")
    expect(cancel).to_be_focused()
    cancel.click()
    expect(dialog(page)).to_be_hidden()
    expect(revoke).to_be_focused()
    expect(token_row(page, token)).to_contain_text("Active")
    token.refresh_from_db()
    assert token.revoked_at is None
    assert whoami(page, live_server, secret).status == 200

    # Confirm: the row turns revoked without a page load.
    revoke.click()
    dialog(page).get_by_role("button", name="Revoke token").click()
    expect(dialog(page)).to_be_hidden()
    row = token_row(page, token)
    expect(row.locator(".status")).to_have_text("Revoked")
    expect(row.locator(".icon-button")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Token ci-deploy revoked.")
    expect(page.get_by_role("heading", name="Tokens", exact=True)).to_be_focused()
    assert_not_reloaded(page)

    response = whoami(page, live_server, secret)
    assert response.status == 401
    assert response.json()["error"] == "invalid_token"


# Roles -------------------------------------------------------------------------------


def test_member_sees_workspace_tokens_without_controls(
    signed_in_page, tokens_url, manager_user, member_user, workspace
):
    issue(manager_user, workspace, "ci-deploy")
    issue(manager_user, workspace, "nightly-backup")
    page = signed_in_page(member_user)
    page.goto(tokens_url)

    expect(page.locator("#token-table tbody tr")).to_have_count(2)
    expect(rows_named(page, "ci-deploy")).to_contain_text("Workspace")
    for name in ("ci-deploy", "nightly-backup"):
        for action in ("Rename", "Rotate", "Revoke"):
            expect(page.get_by_role("link", name=f"{action} {name}")).to_have_count(0)
    expect(page.locator("#token-table .icon-button")).to_have_count(0)

    # By default Members may make personal tokens, and only those: no kind to choose.
    page.locator("#add-token").click()
    expect(dialog(page).get_by_label("Name", exact=True)).to_be_focused()
    expect(dialog(page).get_by_role("radio", name="Workspace")).to_have_count(0)
    expect(dialog(page)).to_contain_text("You can create personal tokens")
    expect(dialog(page).get_by_role("checkbox", name=re.compile("^Manage tokens"))).to_be_disabled()


def test_member_sees_no_add_token_where_the_policy_forbids_personal_tokens(
    signed_in_page, tokens_url, manager_user, member_user, workspace
):
    policy = services.workspace_policy(workspace)
    policy.members_may_create_personal = False
    policy.save()
    issue(manager_user, workspace, "ci-deploy")
    page = signed_in_page(member_user)
    page.goto(tokens_url)

    expect(rows_named(page, "ci-deploy")).to_be_visible()
    expect(page.locator("#add-token")).to_have_count(0)
    expect(page.locator("#add-token")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile(r"^(Rename|Rotate|Revoke) "))).to_have_count(0)


# Keyboard ----------------------------------------------------------------------------


def test_create_a_token_with_the_keyboard_only(
    signed_in_page, tokens_url, manager_user, workspace, live_server
):
    page = signed_in_page(manager_user)
    page.goto(tokens_url)
    add = page.locator("#add-token")

    for _ in range(40):
        page.keyboard.press("Tab")
        if add.evaluate("el => el === document.activeElement"):
            break
    expect(add).to_be_focused()

    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type("keyboard-made")
    page.keyboard.press("Enter")

    expect(dialog(page).get_by_role("heading", name="Copy your new token")).to_be_visible()
    done = dialog(page).get_by_role("link", name="Done")
    expect(done).to_be_focused()

    # Shift+Tab back to the eye button and press it with the keyboard.
    toggle = reveal_toggle(page)
    for _ in range(10):
        if toggle.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Shift+Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(secret_code(page)).to_have_text(SECRET)
    secret = secret_code(page).inner_text().strip()

    # Tab on to Done (past Copy, Download CSV and the snippet) and press Enter.
    for _ in range(10):
        page.keyboard.press("Tab")
        if done.evaluate("el => el === document.activeElement"):
            break
    expect(done).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_hidden()
    expect(add).to_be_focused()
    token = Token.objects.get(workspace=workspace, name="keyboard-made")
    expect(token_row(page, token)).to_be_visible()
    assert whoami(page, live_server, secret).status == 200


def test_escape_closes_a_modal_and_focus_returns_to_its_button(
    signed_in_page, tokens_url, manager_user, workspace
):
    token, _ = issue(manager_user, workspace, "ci-deploy")
    page = signed_in_page(manager_user)
    page.goto(tokens_url)

    for opener_id, heading in (
        ("add-token", "Add token"),
        (f"rename-{token.public_id}", "Rename token"),
        (f"rotate-{token.public_id}", "Rotate token"),
        (f"revoke-{token.public_id}", "Revoke token"),
    ):
        opener = page.locator(f"#{opener_id}")
        opener.focus()
        page.keyboard.press("Enter")
        expect(dialog(page).get_by_role("heading", name=heading)).to_be_visible()
        page.keyboard.press("Escape")
        expect(dialog(page)).to_be_hidden()
        expect(opener).to_be_focused()

    token.refresh_from_db()
    assert token.name == "ci-deploy" and token.revoked_at is None


# Looks --------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_tokens_tab_and_its_modals(
    scheme, signed_in_page, tokens_url, admin_user, manager_user, workspace, screenshots_dir
):
    issue(
        admin_user,
        workspace,
        "ci-deploy",
        description="Deploys main from GitHub Actions",
        scopes=["tokens:read", "tokens:write"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    issue(
        manager_user,
        workspace,
        "grafana-reader",
        scopes=["tokens:read"],
        allowed_ips=["203.0.113.0/24"],
        expires_at=timezone.now() + timedelta(days=3),
    )
    issue(manager_user, workspace, "laptop", kind=TokenKind.PERSONAL)
    manager = Actor.member(Membership.objects.get(user=manager_user, workspace=workspace))
    legacy, _ = issue(manager_user, workspace, "legacy-sync")
    services.token_revoke(actor=manager, token=legacy)
    metrics, _ = issue(manager_user, workspace, "metrics-push", scopes=["workspace:read"])
    services.token_rotate(actor=manager, token=metrics, grace="1d")
    page = signed_in_page(
        manager_user,
        color_scheme=scheme,
        viewport={"width": 1280, "height": 800},
        permissions=CLIPBOARD,
    )
    page.goto(f"{tokens_url}?status=all")
    expect(page.locator("#token-table tbody tr")).to_have_count(6)
    expect(token_row(page, metrics)).to_contain_text("rotated; old secret")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    shots = {}

    def shoot(name: str, *, full_page: bool = False) -> None:
        path = screenshots_dir / f"tokens-{name}-{scheme}.png"
        page.screenshot(path=path, full_page=full_page)
        shots[name] = path

    shoot("list", full_page=True)

    page.locator("#add-token").click()
    expect(dialog(page).get_by_label("Name", exact=True)).to_be_focused()
    dialog(page).get_by_label("Name", exact=True).fill("release-bot")
    dialog(page).get_by_label("Description").fill("Tags releases")
    shoot("create")
    # The lower half of the form: expiration, IP ranges, the live summary, the buttons.
    dialog(page).get_by_label("Allowed IP ranges").fill("203.0.113.0/24")
    dialog(page).get_by_role("button", name="Create token").scroll_into_view_if_needed()
    expect(page.locator("#token-summary")).to_contain_text("Only from 203.0.113.0/24.")
    shoot("create-summary")
    dialog(page).get_by_label("Allowed IP ranges").fill("")

    dialog(page).get_by_role("button", name="Create token").click()
    expect(dialog(page).get_by_role("link", name="Done")).to_be_focused()
    reveal_toggle(page).click()
    expect(secret_code(page)).to_have_text(SECRET)
    dialog(page).get_by_role("button", name="Copy token").click()
    expect(dialog(page).locator("[data-copy-status]")).to_contain_text("Copied")
    shoot("reveal")
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()

    page.get_by_role("link", name="Rename ci-deploy").click()
    expect(dialog(page).get_by_label("Name", exact=True)).to_be_focused()
    shoot("rename")
    page.keyboard.press("Escape")

    page.get_by_role("link", name="Revoke grafana-reader").click()
    expect(dialog(page).get_by_role("link", name="Cancel")).to_be_focused()
    shoot("revoke")
    page.keyboard.press("Escape")

    for path in shots.values():
        assert path.stat().st_size > 0


def test_without_javascript_a_new_token_is_shown_in_full_to_copy_by_hand(
    signed_in_page, tokens_url, manager_user, live_server
):
    page = signed_in_page(manager_user, java_script_enabled=False)
    page.goto(tokens_url)

    page.locator("#add-token").click()
    page.get_by_label("Name", exact=True).fill("no-script")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("heading", name="Copy your new token")).to_be_visible()
    plain = page.locator("pre.secret-plain")
    expect(plain).to_be_visible()
    expect(plain).to_have_text(SECRET)
    assert whoami(page, live_server, plain.inner_text().strip()).status == 200
