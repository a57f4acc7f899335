"""What the hardening changed for users, in real Chromium, light and dark: a bad filter in the
URL, rotation under the current policies, names refused at the field, Check a token, the
sign-in limit at /accounts/login/ and /admin/login/, and the Policies form's own limits."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts import query_params
from accounts.roles import Role
from accounts.text import NAME_MESSAGE
from tests.browser.helpers import assert_not_reloaded, dialog, mark_document, watch_console
from tests.conftest import PASSWORD, make_member
from tests.factories import issue
from tokens import services
from tokens.checking import NOT_OURS, WRONG_FORMAT
from tokens.models import RevokeReason, Token
from tokens.services.policies import MAX_LIFETIME_DAYS
from tokens.validation import DEFAULT_LIFETIME_DAYS

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 800}
SCHEMES = ["light", "dark"]


# Helpers -------------------------------------------------------------------------------------


@pytest.fixture
def tokens_url(live_server, workspace) -> str:
    return f"{live_server.url}/w/{workspace.slug}/settings/tokens/"


@pytest.fixture
def shoot(screenshots_dir):
    """Return `shoot(page, name, **options)`: save a screenshot and check it is not empty."""

    def take(page: Page, name: str, **options) -> None:
        scheme = (
            "dark"
            if page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
            else "light"
        )
        path = screenshots_dir / f"hardening-{name}-{scheme}.png"
        # caret="initial": hiding the caret leaves style="" on every input, which htmx then
        # copies while settling a swap, and the CSP (no inline styles) reports each copy.
        page.screenshot(path=path, caret="initial", **options)
        assert path.stat().st_size > 0

    return take


def scheme_page(signed_in_page, user, scheme: str) -> Page:
    page = signed_in_page(user, color_scheme=scheme, viewport=VIEWPORT)
    return page


def toasts(page: Page):
    return page.locator("#toasts")


def submit_and_wait(page: Page, button: str) -> None:
    """Click the dialog's `button` and wait until HTMX has swapped in the answer."""
    dialog(page).locator("form").first.evaluate("form => form.dataset.stale = 'yes'")
    dialog(page).get_by_role("button", name=button).click()
    expect(dialog(page).locator("form[data-stale]")).to_have_count(0)


def field_of(page: Page, label: str):
    """Return the .field wrapper of the dialog's input labelled `label`."""
    return dialog(page).locator(".field", has=page.get_by_label(label, exact=True))


# 1. A bad filter in the URL ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_bad_filter_in_the_url_shows_the_list_unfiltered_with_a_note(
    scheme, signed_in_page, tokens_url, admin_user, workspace, shoot
):
    soon, _ = issue(
        admin_user, workspace, "ci-deploy", expires_at=timezone.now() + timedelta(days=3)
    )
    later, _ = issue(admin_user, workspace, "nightly-backup")
    page = scheme_page(signed_in_page, admin_user, scheme)
    errors = watch_console(page)

    response = page.goto(f"{tokens_url}?expiring=%C2%B2")  # "²": str.isdigit says yes, int no
    assert response.status == 200
    notes = page.locator(".filter-problem")
    expect(notes).to_have_text(
        [
            "The expiring filter was ignored: it takes a whole number of days "
            f"from 1 to {query_params.MAX_DAYS}."
        ]
    )
    expect(page.locator(f"#token-{soon.public_id}")).to_be_visible()
    expect(page.locator(f"#token-{later.public_id}")).to_be_visible()
    expect(page.get_by_text("Showing tokens expiring")).to_have_count(0)
    shoot(page, "bad-filter", full_page=True)

    # Every bad value at once, a 5000-digit one too: one note each, still the whole list.
    bad = {
        "expiring": "%E2%91%A0",  # ①
        "unused": "%C2%B2",  # ²
        "revoked_within": "9" * 5000,
        "status": "everything",
    }
    response = page.goto(tokens_url + "?" + "&".join(f"{k}={v}" for k, v in bad.items()))
    assert response.status == 200
    expect(notes).to_have_count(4)
    expect(notes.nth(0)).to_contain_text("The status filter was ignored")
    for parameter in ("expiring", "unused", "revoked_within"):
        expect(page.locator(".filter-problem", has_text=f"The {parameter} filter")).to_have_count(1)
    expect(page.locator("#token-status")).to_have_value("active")
    expect(page.locator("#token-table tbody tr")).to_have_count(2)
    shoot(page, "bad-filters")

    # The ignored values are not carried on: the next filter change drops the notes.
    mark_document(page)
    page.locator("#token-search").fill("ci")
    expect(page.locator("#token-table tbody tr")).to_have_count(1)
    expect(notes).to_have_count(0)
    assert "9999" not in page.url
    assert_not_reloaded(page)

    # A good value still filters, with its own note.
    page.goto(f"{tokens_url}?expiring=7")
    expect(page.get_by_text("Showing tokens expiring within 7 days.")).to_be_visible()
    expect(page.locator("#token-table tbody tr")).to_have_count(1)
    expect(notes).to_have_count(0)
    assert errors == []


# 2. Rotation follows the current policies ---------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_rotating_a_never_expiring_token_under_the_no_never_policy_gives_an_expiry(
    scheme, signed_in_page, tokens_url, admin_user, workspace, shoot
):
    old, old_secret = issue(admin_user, workspace, "ci-deploy")
    assert old.expires_at is None
    policy = services.workspace_policy(workspace)
    policy.allow_never_expiring = False
    policy.save()
    page = scheme_page(signed_in_page, admin_user, scheme)
    errors = watch_console(page)
    page.goto(tokens_url)
    expect(page.locator(f"#token-{old.public_id}")).to_contain_text("Never")
    mark_document(page)

    page.get_by_role("link", name="Rotate ci-deploy").click()
    expect(dialog(page).get_by_role("heading", name="Rotate token")).to_be_visible()
    expect(dialog(page)).to_contain_text("It follows the workspace's current policies")
    expect(dialog(page)).not_to_contain_text("never expires")
    shown = dialog(page).locator("time")
    expect(shown).to_have_count(1)
    shown_at = datetime.fromisoformat(shown.get_attribute("datetime"))
    expected = timezone.now() + timedelta(days=DEFAULT_LIFETIME_DAYS)
    assert abs(shown_at - expected) < timedelta(minutes=5)
    expect(shown).to_contain_text(shown_at.strftime("%b %-d, %Y"))
    expect(dialog(page)).to_contain_text(
        "It follows the workspace's current policies: this workspace no longer allows tokens "
        "that never expire, so it expires "
    )
    shoot(page, "rotate-dialog")

    dialog(page).get_by_role("button", name="Rotate token").click()
    expect(dialog(page).get_by_role("heading", name="Copy your new token")).to_be_visible()
    new = Token.objects.get(rotated_from=old)
    assert new.expires_at is not None
    assert abs(new.expires_at - shown_at) < timedelta(minutes=5)
    expect(dialog(page).locator(".reveal > p").first).to_contain_text(
        f"expires {new.expires_at:%b %-d, %Y}"
    )
    expect(toasts(page)).to_contain_text("Token ci-deploy rotated.")
    shoot(page, "rotate-reveal")

    dialog(page).get_by_role("link", name="Done").click()
    expect(dialog(page)).to_be_hidden()
    new_row = page.locator(f"#token-{new.public_id}")
    expect(new_row).to_be_visible()
    expires_cell = new_row.locator("td").nth(4)
    expect(expires_cell.locator("time")).to_have_attribute("datetime", new.expires_at.isoformat())
    expect(expires_cell).not_to_contain_text("Never")
    assert_not_reloaded(page)
    assert old_secret not in page.content()
    assert errors == []


# 3. Names refused at the field, typing kept -------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_name_with_a_control_character_gets_a_field_error_and_keeps_the_typing(
    scheme, signed_in_page, tokens_url, manager_user, workspace, shoot
):
    page = scheme_page(signed_in_page, manager_user, scheme)
    errors = watch_console(page)
    page.goto(tokens_url)
    mark_document(page)
    page.locator("#add-token").click()
    form = dialog(page)
    name = form.get_by_label("Name", exact=True)
    expect(name).to_be_focused()

    # A line break cannot even reach the server from this one-line field: the browser drops it.
    name.fill("ci\ndeploy")
    assert "\n" not in name.input_value()

    # A right-to-left override (Trojan Source) is refused next to the field.
    name.fill("ci-\u202eyolped")
    form.get_by_label("Description").fill("Deploys from GitHub Actions")
    form.get_by_role("radio", name="Choose scopes").check()
    form.get_by_role("checkbox", name=re.compile(r"^Read tokens")).check()
    form.get_by_role("radio", name="7 days").check()
    ips = form.get_by_label("Allowed IP ranges")
    ips.fill("203.0.113.0/24\n198.51.100.7/32")
    checked_before = form.locator("input[name=scopes]:checked").evaluate_all(
        "boxes => boxes.map(b => b.value)"
    )
    form.get_by_role("button", name="Create token").click()

    error = form.locator("#id_name_error")
    expect(error).to_have_text(NAME_MESSAGE)
    expect(field_of(page, "Name")).to_have_class(re.compile(r"\bfield-invalid\b"))
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    expect(name).to_have_value("ci-\u202eyolped")
    expect(form.get_by_label("Description")).to_have_value("Deploys from GitHub Actions")
    expect(form.get_by_role("radio", name="Choose scopes")).to_be_checked()
    assert (
        form.locator("input[name=scopes]:checked").evaluate_all("boxes => boxes.map(b => b.value)")
        == checked_before
    )
    expect(form.get_by_role("radio", name="7 days")).to_be_checked()
    expect(ips).to_have_value("203.0.113.0/24\n198.51.100.7/32")
    shoot(page, "name-error")

    # A tab pasted into the name is refused the same way.
    name.fill("ci\tdeploy")
    submit_and_wait(page, "Create token")
    expect(error).to_have_text(NAME_MESSAGE)
    expect(name).to_have_value("ci\tdeploy")
    assert not Token.objects.filter(workspace=workspace).exists()

    # Fixed, it is created with everything typed before the errors.
    name.fill("ci-deploy")
    form.get_by_role("button", name="Create token").click()
    expect(form.get_by_role("heading", name="Copy your new token")).to_be_visible()
    token = Token.objects.get(workspace=workspace)
    assert token.name == "ci-deploy"
    assert token.description == "Deploys from GitHub Actions"
    assert sorted(token.scopes) == sorted(checked_before)
    assert token.allowed_ips == ["203.0.113.0/24", "198.51.100.7/32"]
    assert token.expires_at is not None
    assert token.expires_at - token.created_at < timedelta(days=7, minutes=5)
    assert_not_reloaded(page)
    assert errors == []


# 4. Check a token ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_check_a_token_refuses_a_value_that_is_no_token_and_revoking_says_who_was_emailed(
    scheme,
    signed_in_page,
    tokens_url,
    admin_user,
    other_workspace,
    outsider,
    workspace,
    mailoutbox,
    shoot,
):
    second_admin = make_member(workspace, "second-admin@example.com", Role.ADMIN)
    token, secret = issue(admin_user, workspace, "ci-deploy")
    _, foreign = issue(outsider, other_workspace, "globex-ci")
    page = scheme_page(signed_in_page, admin_user, scheme)
    errors = watch_console(page)
    page.goto(f"{tokens_url}?status=all")
    mark_document(page)
    page.locator("#check-token").click()
    value = dialog(page).get_by_label("Token value")
    expect(value).to_be_focused()
    errors_box = dialog(page).locator("#id_value_error")

    # Something pasted that is no token at all.
    value.fill("ghp_16C7e42F292c6912E7710c838347Ae178B4a")
    dialog(page).get_by_role("button", name="Check").click()
    expect(errors_box).to_have_text(WRONG_FORMAT)
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(value).to_be_focused()
    expect(value).to_have_value("")
    shoot(page, "check-not-a-token")

    # A real token of another workspace: said so, nothing about it shown.
    value.fill(foreign)
    dialog(page).get_by_role("button", name="Check").click()
    expect(errors_box).to_have_text(NOT_OURS)
    expect(dialog(page)).not_to_contain_text("globex-ci")

    value.fill(secret)
    dialog(page).get_by_role("button", name="Check").click()
    expect(dialog(page).locator(".check-result")).to_contain_text("This value is ci-deploy")
    revoke = dialog(page).get_by_role("button", name="Revoke as leaked")
    expect(revoke).to_be_focused()
    mailoutbox.clear()  # the tokens' "created" emails
    revoke.click()

    expect(dialog(page)).to_be_hidden()
    message = toasts(page)
    expect(message).to_contain_text("Token ci-deploy revoked as leaked. Emailing ")
    expect(message).to_contain_text(admin_user.email)
    expect(message).to_contain_text(second_admin.email)
    expect(page.locator(f"#token-{token.public_id} .status")).to_have_text("Revoked")
    shoot(page, "check-revoked")
    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK
    emailed = sorted(address for mail in mailoutbox for address in mail.to)
    assert emailed == sorted([admin_user.email, second_admin.email])
    assert secret not in page.content()
    assert_not_reloaded(page)
    assert errors == []


# 5. The sign-in limit, console and admin ----------------------------------------------------


@pytest.fixture
def low_sign_in_limit(settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT = 3
    return 3


def fail_sign_ins(page: Page, url: str, email: str, button: str, times: int) -> None:
    for _ in range(times):
        page.goto(url)
        page.locator("#id_username").fill(email)
        page.locator("#id_password").fill("not-the-password")
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.locator("#id_password")).to_be_visible()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_after_the_limit_the_console_sign_in_says_to_wait(
    scheme, new_context, live_server, admin_user, low_sign_in_limit, shoot
):
    page = new_context(color_scheme=scheme, viewport=VIEWPORT).new_page()
    url = f"{live_server.url}/accounts/login/"
    fail_sign_ins(page, url, admin_user.email, "Sign in", low_sign_in_limit)

    # Now even the right password is refused, with a message that says to wait.
    page.locator("#id_username").fill(admin_user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many failed sign-in attempts. Try again in")
    expect(alert).to_contain_text("minute")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("#id_username")).to_have_value(admin_user.email)
    shoot(page, "login-limited", full_page=True)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_after_the_limit_the_admin_sign_in_says_to_wait(
    scheme, new_context, live_server, operator, low_sign_in_limit, shoot
):
    page = new_context(color_scheme=scheme, viewport=VIEWPORT).new_page()
    url = f"{live_server.url}/admin/login/"
    fail_sign_ins(page, url, operator.email, "Log in", low_sign_in_limit)

    page.locator("#id_username").fill(operator.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    note = page.locator(".errornote")
    expect(note).to_contain_text("Too many failed sign-in attempts. Try again in")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.get_by_role("link", name="Log out")).to_have_count(0)
    shoot(page, "admin-login-limited", full_page=True)


# 6. Policies: the lifetime input's limits come from the form --------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_lifetime_input_takes_its_limits_from_the_form(
    scheme, signed_in_page, live_server, admin_user, workspace, shoot
):
    page = scheme_page(signed_in_page, admin_user, scheme)
    errors = watch_console(page)
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/policies/")
    lifetime = page.get_by_label("Maximum lifetime")
    expect(lifetime).to_have_attribute("type", "number")
    expect(lifetime).to_have_attribute("min", "1")
    expect(lifetime).to_have_attribute("max", str(MAX_LIFETIME_DAYS))
    expect(lifetime).to_have_attribute("placeholder", "No limit")
    expect(lifetime).to_have_accessible_description(
        "In days. New and rotated tokens must expire within it; empty for no limit."
    )

    # Past the maximum: refused next to the field, the typed value kept, nothing saved.
    lifetime.fill(str(MAX_LIFETIME_DAYS + 1))
    page.get_by_role("button", name="Save policies").click()
    field = page.locator(".field", has=lifetime)
    expect(field.locator(".errors")).to_contain_text(str(MAX_LIFETIME_DAYS))
    expect(lifetime).to_have_value(str(MAX_LIFETIME_DAYS + 1))
    expect(lifetime).to_have_attribute("max", str(MAX_LIFETIME_DAYS))
    expect(lifetime).to_have_attribute("aria-invalid", "true")
    expect(lifetime).to_have_accessible_description(
        re.compile(rf"no limit\. Ensure this value is less than or equal to {MAX_LIFETIME_DAYS}\.")
    )
    shoot(page, "policies-lifetime-error")
    assert services.workspace_policy(workspace).max_lifetime_days is None

    lifetime.fill("90")
    page.locator("form.policy-form").first.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Save policies").click()
    expect(toasts(page)).to_contain_text("Policies saved.")
    expect(lifetime).to_have_value("90")
    assert services.workspace_policy(workspace).max_lifetime_days == 90
    assert errors == []
