"""Settings → Tokens: every action per role, HTMX partials and full pages, the one-time
reveal, form errors, filters, query counts and CSRF."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from urllib.parse import unquote, urljoin

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from tests.factories import HTMX, actor_of, issue, signed_in, triggers
from tests.tokens_console.conftest import errors_of, field_of, parse
from tokens import secrets, services
from tokens.models import Resource, RevokeReason, Token, TokenKind, WorkspacePolicy

pytestmark = pytest.mark.django_db

WHO = ["admin_user", "manager_user", "member_user", "outsider"]
TARGETS = ["ws_token", "admin_personal", "manager_personal", "member_personal"]
OWNER = {
    "admin_personal": "admin_user",
    "manager_personal": "manager_user",
    "member_personal": "member_user",
}


def url(name: str, token: Token | str | None = None, slug: str = "acme") -> str:
    kwargs = {"slug": slug}
    if token is not None:
        kwargs["public_id"] = token if isinstance(token, str) else token.public_id
    return reverse(f"tokens:{name}", kwargs=kwargs)


def create_data(**overrides) -> dict:
    """Return the fields of the Add token form as a browser would post them."""
    return {
        "name": "deploy-bot",
        "description": "",
        "kind": TokenKind.WORKSPACE,
        "preset": "read",
        "expiration": "30",
        "expires_on": "",
        "allowed_ips": "",
    } | overrides


def state() -> tuple:
    """Return a snapshot of everything the token views may change."""
    return (
        list(
            Token.objects.order_by("pk").values_list(
                "pk", "name", "description", "revoked_at", "revoke_reason", "digest"
            )
        ),
        AuditEvent.objects.count(),
    )


def rows(response) -> dict:
    """Return the token rows of a response by token name."""
    return {
        tr.find("span", class_="strong").text(): tr
        for tr in parse(response).find_all("tr")
        if "token-row" in tr.classes()
    }


def row_names(response) -> list[str]:
    return list(rows(response))


def controls(row) -> set[str]:
    """Return the accessible names of the links and buttons in a row."""
    return {
        n.attrs["aria-label"]
        for n in row.iter()
        if n.tag in {"a", "button"} and "aria-label" in n.attrs
    }


def revealed_secret(response) -> str:
    """Return the secret that the reveal dialog of `response` carries."""
    code = parse(response).find("code", **{"data-secret-code": ""})
    return code.attrs["data-secret"]


def csv_rows(response) -> list[dict]:
    """Return the rows of the reveal's Download CSV link, decoded from its data: URL."""
    link = next(a for a in parse(response).find_all("a") if a.text() == "Download CSV")
    prefix = "data:text/csv;charset=utf-8,"
    assert link.attrs["href"].startswith(prefix)
    assert link.attrs["download"].endswith(".csv")
    text = unquote(link.attrs["href"][len(prefix) :])
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == ["name", "token_id", "token", "scopes", "expires_at"]
    return list(reader)


def is_full_page(response) -> bool:
    return "<html" in response.content.decode()


# Who may do what ---------------------------------------------------------------------


def _expected(who: str, target: str, action: str) -> int | None:
    """Return the refusal status for `who` doing `action` to `target`, or None if allowed."""
    if who == "outsider":
        return 404
    if target == "ws_token":
        return 403 if who == "member_user" else None
    if OWNER[target] == who:
        return None
    if who == "member_user":  # others' personal tokens are not even visible to Members
        return 404
    if action == "revoke" and who == "admin_user":
        return None
    return 403


CASES = [
    (who, target, action)
    for who in WHO
    for target in TARGETS
    for action in ("rename", "rotate", "revoke")
]
ALLOWED = [case for case in CASES if _expected(*case) is None]
REFUSED = [case for case in CASES if _expected(*case) is not None]


@pytest.fixture
def all_tokens(ws_token, admin_personal, manager_personal, member_personal) -> dict:
    return {
        "ws_token": ws_token,
        "admin_personal": admin_personal,
        "manager_personal": manager_personal,
        "member_personal": member_personal,
    }


def _action_data(action: str) -> dict:
    return {
        "rename": {"name": "renamed", "description": "new words"},
        "rotate": {"grace": "1h"},
        "revoke": {},
    }[action]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(("who", "target", "action"), REFUSED)
def test_refused_token_actions_change_nothing(
    request, all_tokens, outsider, who, target, action, method, htmx
):
    client = signed_in(request.getfixturevalue(who))
    before = state()

    response = getattr(client, method)(
        url(action, all_tokens[target]), _action_data(action), **(HTMX if htmx else {})
    )

    assert response.status_code == _expected(who, target, action)
    assert state() == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(("who", "target", "action"), ALLOWED)
def test_allowed_token_actions_show_their_dialog(request, all_tokens, who, target, action, htmx):
    client = signed_in(request.getfixturevalue(who))
    token = all_tokens[target]
    before = state()

    response = client.get(url(action, token), **(HTMX if htmx else {}))

    assert response.status_code == 200
    assert f'action="{url(action, token)}"' in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(("who", "target", "action"), ALLOWED)
def test_allowed_token_actions_are_done(request, all_tokens, who, target, action, htmx):
    client = signed_in(request.getfixturevalue(who))
    token = all_tokens[target]

    response = client.post(url(action, token), _action_data(action), **(HTMX if htmx else {}))

    redirects = action in {"rename", "revoke"} and not htmx
    assert response.status_code == (302 if redirects else 200)
    token.refresh_from_db()
    if action == "rename":
        assert (token.name, token.description) == ("renamed", "new words")
    elif action == "rotate":
        assert token.revoke_reason == RevokeReason.ROTATION
        assert Token.objects.get(rotated_from=token).name == token.name
    else:
        assert token.revoke_reason == RevokeReason.USER
        assert token.revoked_at <= timezone.now()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", WHO)
def test_the_list_is_for_members_only(request, workspace, other_workspace, who, htmx):
    client = signed_in(request.getfixturevalue(who))

    response = client.get(url("list"), **(HTMX if htmx else {}))

    assert response.status_code == (404 if who == "outsider" else 200)


CREATE_CASES = [
    ("admin_user", TokenKind.WORKSPACE, None),
    ("admin_user", TokenKind.PERSONAL, None),
    ("manager_user", TokenKind.WORKSPACE, None),
    ("manager_user", TokenKind.PERSONAL, None),
    ("member_user", TokenKind.WORKSPACE, 403),
    ("member_user", TokenKind.PERSONAL, None),
    ("outsider", TokenKind.WORKSPACE, 404),
    ("outsider", TokenKind.PERSONAL, 404),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(("who", "kind", "refusal"), CREATE_CASES)
def test_create_per_role_and_kind(request, workspace, other_workspace, who, kind, refusal, htmx):
    user = request.getfixturevalue(who)
    client = signed_in(user)
    before = state()

    response = client.post(url("create"), create_data(kind=kind), **(HTMX if htmx else {}))

    if refusal:
        assert response.status_code == refusal
        assert state() == before
    else:
        assert response.status_code == 200
        token = Token.objects.get(name="deploy-bot")
        assert token.kind == kind
        assert token.owner == (user if kind == TokenKind.PERSONAL else None)
        assert token.created_by == user


@pytest.mark.parametrize("who", WHO)
def test_create_form_per_role(request, workspace, other_workspace, who):
    client = signed_in(request.getfixturevalue(who))

    response = client.get(url("create"), **HTMX)

    assert response.status_code == (404 if who == "outsider" else 200)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_members_may_not_create_when_the_policy_forbids_personal_tokens(
    workspace, member_client, htmx
):
    WorkspacePolicy.objects.create(workspace=workspace, members_may_create_personal=False)
    headers = HTMX if htmx else {}
    before = state()

    form = member_client.get(url("create"), **headers)
    post = member_client.post(url("create"), create_data(kind=TokenKind.PERSONAL), **headers)
    listing = member_client.get(url("list"))

    assert (form.status_code, post.status_code) == (403, 403)
    assert state() == before
    assert "Add token" not in listing.content.decode()


def test_members_may_create_when_the_policy_allows_it(workspace, member_client):
    WorkspacePolicy.objects.create(workspace=workspace, members_may_create_personal=True)

    listing = member_client.get(url("list"))

    assert parse(listing).find("a", id="add-token").text() == "Add token"


def test_a_members_create_form_offers_only_personal_tokens_and_their_roles_scopes(
    workspace, member_client
):
    dom = parse(member_client.get(url("create"), **HTMX))

    assert not dom.find("input", type="radio", name="kind")
    assert dom.find("input", type="hidden", name="kind").attrs["value"] == TokenKind.PERSONAL
    disabled = {
        n.attrs["value"] for n in dom.find_all("input", name="scopes") if "disabled" in n.attrs
    }
    assert disabled == {"tokens:write", "tokens:introspect", "metrics:read"}


def test_a_member_forging_a_scope_beyond_their_role_gets_an_error_and_no_token(
    workspace, member_client
):
    data = create_data(kind=TokenKind.PERSONAL, preset="custom", scopes=["tokens:write"])
    before = state()

    response = member_client.post(url("create"), data, **HTMX)

    assert response.status_code == 200
    assert "Beyond what you may grant" in errors_of(field_of(parse(response), "scopes"))
    assert state() == before


@pytest.mark.parametrize("action", ["rename", "rotate", "revoke"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_token_of_another_workspace_is_not_found(admin_client, foreign_token, action, method):
    before = state()

    response = getattr(admin_client, method)(url(action, foreign_token), _action_data(action))
    under_its_slug = getattr(admin_client, method)(
        url(action, foreign_token, slug="globex"), _action_data(action)
    )

    assert (response.status_code, under_its_slug.status_code) == (404, 404)
    assert state() == before


@pytest.mark.parametrize("name", ["list", "create", "rename", "rotate", "revoke"])
def test_anonymous_visitors_are_sent_to_sign_in(client, ws_token, name):
    target = url(name, ws_token if name in {"rename", "rotate", "revoke"} else None)

    response = client.post(target, {"name": "x", "grace": "none"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    ws_token.refresh_from_db()
    assert (ws_token.name, ws_token.revoked_at) == ("ci-deploy", None)


# What the list shows to whom -----------------------------------------------------------


def test_members_see_workspace_tokens_and_only_their_own_personal_tokens(member_client, all_tokens):
    names = set(row_names(member_client.get(url("list"))))

    assert names == {"ci-deploy", "mia-laptop"}


@pytest.mark.parametrize("who", ["admin_user", "manager_user"])
def test_admins_and_managers_see_every_token(request, all_tokens, who):
    names = set(row_names(signed_in(request.getfixturevalue(who)).get(url("list"))))

    assert names == {"ci-deploy", "ada-laptop", "max-laptop", "mia-laptop"}


def _labels(name: str, *actions: str) -> set[str]:
    return {f"{action} {name}" for action in actions}


# Edit limits is the gateway app's (tokens.rows.register_row_extra), for those who may rename.
EVERYTHING = ("Rename", "Rotate", "Edit limits", "Revoke")
CONTROLS = {
    "admin_user": {
        "ci-deploy": _labels("ci-deploy", *EVERYTHING),
        "ada-laptop": _labels("ada-laptop", *EVERYTHING),
        "max-laptop": _labels("max-laptop", "Revoke"),
        "mia-laptop": _labels("mia-laptop", "Revoke"),
    },
    "manager_user": {
        "ci-deploy": _labels("ci-deploy", *EVERYTHING),
        "ada-laptop": set(),
        "max-laptop": _labels("max-laptop", *EVERYTHING),
        "mia-laptop": set(),
    },
    "member_user": {
        "ci-deploy": set(),
        "mia-laptop": _labels("mia-laptop", *EVERYTHING),
    },
}


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", list(CONTROLS))
def test_rows_show_only_the_controls_the_viewer_may_use(request, all_tokens, who, htmx):
    response = signed_in(request.getfixturevalue(who)).get(url("list"), **(HTMX if htmx else {}))

    shown = {name: controls(row) for name, row in rows(response).items()}

    assert shown == CONTROLS[who]


def test_revoked_rows_have_no_controls(admin_client, admin_user, workspace, ws_token):
    services.token_revoke(actor=actor_of(admin_user, workspace), token=ws_token)

    shown = rows(admin_client.get(url("list"), {"status": "revoked"}))

    assert controls(shown["ci-deploy"]) == set()


def test_a_row_shows_the_censored_token_and_what_it_can_do(admin_client, workspace, manager_user):
    resource = Resource.objects.create(workspace=workspace, name="production-db")
    token, secret = issue(
        manager_user,
        workspace,
        "k8s-connector",
        scopes=["workspace:read", "members:read", "tokens:read"],
        resource_ids=[resource.pk],
        allowed_ips="10.0.0.0/8",
        expires_at=timezone.now() + timedelta(days=3),
    )
    Token.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - timedelta(hours=2), last_used_ip="10.4.2.17"
    )

    row = rows(admin_client.get(url("list")))["k8s-connector"]

    text = row.text()
    assert row.find("code", class_="censored").text() == f"kww_…{secret[-4:]}"
    assert "Read only" in text
    assert "Only production-db" in text
    assert "by manager@example.com" in text
    assert "⚠" in text and "(soon)" in text
    assert row.find("span", role="tooltip").text() == "from 10.4.2.17"
    assert "Active" in text


def test_the_empty_list_says_what_a_token_is_for(admin_client, workspace):
    dom = parse(admin_client.get(url("list")))

    empty = next(n for n in dom.iter() if "empty-state" in n.classes())
    assert "No active tokens yet" in empty.text()
    assert "A token lets a machine call the API" in empty.text()


# Full pages and partials ----------------------------------------------------------------


def test_htmx_list_is_the_table_partial(admin_client, ws_token):
    response = admin_client.get(url("list"), **HTMX)

    content = response.content.decode()
    assert not is_full_page(response)
    assert content.strip().startswith('<div id="token-table"')
    assert "ci-deploy" in content


def test_plain_list_is_a_full_page(admin_client, ws_token):
    response = admin_client.get(url("list"))

    assert is_full_page(response)
    assert 'id="token-table"' in response.content.decode()
    assert parse(response).find("a", id="add-token")


@pytest.mark.parametrize(
    ("action", "title"),
    [
        ("create", "Add token"),
        ("rename", "Rename token"),
        ("rotate", "Rotate token"),
        ("revoke", "Revoke token"),
    ],
)
def test_htmx_dialogs_are_partials_and_plain_ones_are_full_pages(
    admin_client, ws_token, action, title
):
    target = url(action, None if action == "create" else ws_token)

    partial = admin_client.get(target, **HTMX)
    page = admin_client.get(target)

    assert not is_full_page(partial)
    assert parse(partial).find("h2", id="modal-title").text() == title
    assert 'id="token-table"' not in partial.content.decode()
    assert is_full_page(page)
    assert parse(page).find("h2", id="modal-title").text() == title
    assert "ci-deploy" in rows(page)  # the list stays under the dialog


def test_a_full_page_shows_the_dialog_its_view_names_whatever_the_context_holds(
    admin_client, ws_token, monkeypatch
):
    from tokens.views import tokens as token_views

    tab_context = token_views.tab_context
    # Another dialog's context key (the create form) set alongside the revoke dialog's.
    monkeypatch.setattr(
        token_views,
        "tab_context",
        lambda request, **extra: tab_context(request, create_form=1, **extra),
    )

    page = admin_client.get(url("revoke", ws_token))

    titles = [h.text() for h in parse(page).find_all("h2") if h.attrs.get("id") == "modal-title"]
    assert titles == ["Revoke token"]


def test_htmx_create_answers_with_the_reveal_and_refreshes_the_list(admin_client, workspace):
    response = admin_client.post(url("create"), create_data(), **HTMX)

    assert not is_full_page(response)
    assert parse(response).find("h2", id="modal-title").text() == "Copy your new token"
    events = triggers(response)
    assert "tokens:changed" in events
    assert events["toast"]["message"] == "Token deploy-bot created."
    assert "modal:close" not in events  # the modal stays open to show the secret


def test_plain_create_renders_the_full_page_with_the_reveal(admin_client, workspace):
    response = admin_client.post(url("create"), create_data())

    assert response.status_code == 200
    assert is_full_page(response)
    assert parse(response).find("h2", id="modal-title").text() == "Copy your new token"
    assert "deploy-bot" in rows(response)


def test_htmx_rename_swaps_the_row_in_place(admin_client, ws_token):
    response = admin_client.post(
        url("rename", ws_token), {"name": "ci-release", "description": "Ships tags"}, **HTMX
    )

    content = response.content.decode().strip()
    assert content.startswith(f'<tr id="token-{ws_token.public_id}"')
    assert "ci-release" in content and "Ships tags" in content
    assert response["HX-Retarget"] == f"#token-{ws_token.public_id}"
    assert response["HX-Reswap"] == "outerHTML"
    events = triggers(response)
    assert "modal:close" in events
    assert events["toast"]["message"] == "Token renamed to ci-release."


def test_plain_rename_redirects_to_the_list_with_a_message(admin_client, ws_token):
    response = admin_client.post(url("rename", ws_token), {"name": "ci-release"})

    assert response.status_code == 302
    assert response["Location"] == url("list")
    page = admin_client.get(response["Location"])
    assert "Token renamed to ci-release." in parse(page).find("div", id="toasts").text()
    assert "ci-release" in rows(page)


def test_htmx_revoke_turns_the_row_revoked_in_place(admin_client, ws_token):
    response = admin_client.post(url("revoke", ws_token), **HTMX)

    content = response.content.decode().strip()
    assert content.startswith(f'<tr id="token-{ws_token.public_id}"')
    assert 'class="status status-revoked"' in content
    assert response["HX-Retarget"] == f"#token-{ws_token.public_id}"
    assert response["HX-Reswap"] == "outerHTML"
    events = triggers(response)
    assert "modal:close" in events
    assert events["toast"]["message"].startswith("Token ci-deploy revoked.")


def test_plain_revoke_redirects_to_the_list_with_a_message(admin_client, ws_token):
    response = admin_client.post(url("revoke", ws_token))

    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert "Token ci-deploy revoked." in parse(page).find("div", id="toasts").text()
    assert "ci-deploy" not in rows(page)  # it left the Active filter


def test_the_revoke_dialog_names_the_token_and_its_last_use(admin_client, ws_token):
    Token.objects.filter(pk=ws_token.pk).update(
        last_used_at=timezone.now() - timedelta(days=2), last_used_ip="198.51.100.23"
    )

    text = parse(admin_client.get(url("revoke", ws_token), **HTMX)).text()

    assert "Revoke ci-deploy" in text
    assert "Last used 2 days ago from 198.51.100.23" in text


def test_the_revoke_dialog_says_when_a_token_was_never_used(admin_client, ws_token):
    text = parse(admin_client.get(url("revoke", ws_token), **HTMX)).text()

    assert "It has never been used." in text


def test_revoking_a_revoked_token_changes_nothing(admin_client, ws_token):
    admin_client.post(url("revoke", ws_token), **HTMX)
    before = state()

    response = admin_client.post(url("revoke", ws_token), **HTMX)

    assert response.status_code == 200
    assert state() == before


def test_htmx_rotate_reveals_the_new_secret_and_refreshes_the_list(admin_client, ws_token):
    response = admin_client.post(url("rotate", ws_token), {"grace": "1d"}, **HTMX)

    new = Token.objects.get(rotated_from=ws_token)
    assert revealed_secret(response)
    assert Token.objects.get(digest=secrets.digest(revealed_secret(response))) == new
    assert not is_full_page(response)
    events = triggers(response)
    assert "tokens:changed" in events
    assert events["toast"]["message"] == "Token ci-deploy rotated."


def test_rotation_keeps_the_old_token_for_the_grace_period_and_shows_when_it_stops(
    admin_client, ws_token
):
    before = timezone.now()

    admin_client.post(url("rotate", ws_token), {"grace": "1d"}, **HTMX)

    ws_token.refresh_from_db()
    assert before + timedelta(days=1) <= ws_token.revoked_at <= timezone.now() + timedelta(days=1)
    listing = admin_client.get(url("list"), {"status": "all"})
    old = rows_by_id(listing)[ws_token.public_id]
    assert "rotated; old secret" in old.text()
    assert ws_token.revoked_at.isoformat() in {t.attrs["datetime"] for t in old.find_all("time")}
    assert "in 23 hours" in old.text()
    assert controls(old) == {"Revoke ci-deploy", "Rename ci-deploy"}


def rows_by_id(response) -> dict:
    return {
        tr.attrs["id"].removeprefix("token-"): tr
        for tr in parse(response).find_all("tr")
        if "token-row" in tr.classes()
    }


def test_plain_rotate_renders_the_full_page_with_the_reveal(admin_client, ws_token):
    response = admin_client.post(url("rotate", ws_token), {"grace": "none"})

    assert response.status_code == 200
    assert is_full_page(response)
    assert Token.objects.get(digest=secrets.digest(revealed_secret(response))).rotated_from == (
        ws_token
    )
    ws_token.refresh_from_db()
    assert ws_token.revoked_at <= timezone.now()


@pytest.mark.parametrize(
    ("lifetime", "policy", "new_lifetime"),
    [
        (timedelta(days=7), {}, timedelta(days=7)),
        (timedelta(days=90), {}, timedelta(days=90)),
        (timedelta(days=90), {"max_lifetime_days": 30}, timedelta(days=30)),
        (timedelta(hours=6), {}, timedelta(hours=6)),
        (None, {}, None),
        (None, {"allow_never_expiring": False}, timedelta(days=30)),
    ],
)
def test_the_rotate_dialog_says_the_new_token_follows_the_current_policies_and_when_it_expires(
    admin_client, admin_user, workspace, lifetime, policy, new_lifetime
):
    expires_at = timezone.now() + lifetime if lifetime else None
    token, _ = issue(admin_user, workspace, "ci-deploy", expires_at=expires_at)
    WorkspacePolicy.objects.update_or_create(workspace=workspace, defaults=policy)

    dialog = parse(admin_client.get(url("rotate", token), **HTMX))

    assert "It follows the workspace's current policies" in dialog.text()
    if new_lifetime is None:
        assert "it never expires" in dialog.text()
    else:
        said = datetime.fromisoformat(dialog.find("time").attrs["datetime"])
        assert abs(said - (timezone.now() + new_lifetime)) < timedelta(minutes=1)


def test_rotating_a_revoked_token_shows_the_error_in_the_dialog(admin_client, ws_token):
    admin_client.post(url("revoke", ws_token))
    before = state()

    response = admin_client.post(url("rotate", ws_token), {"grace": "1h"}, **HTMX)

    assert response.status_code == 200
    alert = parse(response).find("div", role="alert")
    assert "Only an active token" in alert.text()
    assert state() == before


def test_an_unknown_grace_period_is_refused(admin_client, ws_token):
    before = state()

    response = admin_client.post(url("rotate", ws_token), {"grace": "1y"}, **HTMX)

    assert response.status_code == 200
    assert "Select a valid choice" in errors_of(field_of(parse(response), "grace"))
    assert state() == before


# The secret is shown once ---------------------------------------------------------------


def test_the_create_response_carries_the_working_secret_once(admin_client, workspace):
    response = admin_client.post(url("create"), create_data(), **HTMX)

    secret = revealed_secret(response)
    token = Token.objects.get(name="deploy-bot")
    assert Token.objects.get(digest=secrets.digest(secret)) == token
    code = parse(response).find("code", **{"data-secret-code": ""})
    assert code.text() == code.attrs["data-masked"]  # censored until the eye button is pressed
    assert secret not in code.text()
    assert code.text().startswith("kww_") and code.text().endswith(secret[-4:])
    assert "Keyward will not show this token again." in parse(response).text()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_csv_is_made_from_the_create_response(admin_client, workspace, htmx):
    response = admin_client.post(
        url("create"), create_data(expiration="7"), **(HTMX if htmx else {})
    )

    secret = revealed_secret(response)
    token = Token.objects.get(name="deploy-bot")
    assert csv_rows(response) == [
        {
            "name": "deploy-bot",
            "token_id": token.public_id,
            "token": secret,
            "scopes": "workspace:read members:read tokens:read",
            "expires_at": token.expires_at.isoformat(),
        }
    ]


def test_the_csv_says_never_for_a_token_without_expiry(admin_client, workspace):
    response = admin_client.post(url("create"), create_data(expiration="never"), **HTMX)

    assert csv_rows(response)[0]["expires_at"] == "never"


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil/",1)', "+cmd", "-2+3", "@SUM(1)"])
def test_the_csv_cannot_run_a_name_as_a_spreadsheet_formula(admin_client, workspace, name):
    response = admin_client.post(url("create"), create_data(name=name), **HTMX)

    assert csv_rows(response)[0]["name"] == f"'{name}"


def test_the_rotate_response_carries_the_new_secret_and_its_csv(admin_client, ws_token):
    response = admin_client.post(url("rotate", ws_token), {"grace": "none"}, **HTMX)

    secret = revealed_secret(response)
    new = Token.objects.get(rotated_from=ws_token)
    assert csv_rows(response)[0]["token"] == secret
    assert csv_rows(response)[0]["token_id"] == new.public_id


def test_the_reveal_offers_a_github_actions_snippet(admin_client, workspace):
    response = admin_client.post(url("create"), create_data(), **HTMX)

    snippet = parse(response).find("details", class_="snippet").find("pre").text()
    assert "KEYWARD_TOKEN: ${{ secrets.KEYWARD_TOKEN }}" in snippet
    assert revealed_secret(response) not in snippet


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("action", ["create", "rotate"])
def test_responses_with_a_secret_are_not_stored(admin_client, ws_token, action, htmx):
    if action == "create":
        response = admin_client.post(url("create"), create_data(), **(HTMX if htmx else {}))
    else:
        response = admin_client.post(
            url("rotate", ws_token), {"grace": "none"}, **(HTMX if htmx else {})
        )

    assert revealed_secret(response)
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache_control


def _every_stored_value() -> str:
    """Return every value of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            # Table names come from the database itself.
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    chunks.extend(repr(s.get_decoded()) for s in Session.objects.all())
    return "\n".join(chunks)


def test_the_secret_travels_in_no_other_response_and_is_stored_nowhere(admin_client, workspace):
    created = admin_client.post(url("create"), create_data(), **HTMX)
    secret = revealed_secret(created)
    token = Token.objects.get(name="deploy-bot")

    others = [
        admin_client.get(url("list")),
        admin_client.get(url("list"), **HTMX),
        admin_client.get(url("list"), {"status": "all", "q": "deploy"}, **HTMX),
        admin_client.get(url("rename", token), **HTMX),
        admin_client.post(url("rename", token), {"name": "deploy-bot-2"}, **HTMX),
        admin_client.get(url("rotate", token), **HTMX),
        admin_client.get(url("revoke", token)),
        admin_client.post(url("revoke", token), **HTMX),
        admin_client.get(reverse("accounts:workspace_overview", args=["acme"])),
        admin_client.get("/w/acme/settings/audit/"),  # the Audit log tab
    ]

    for response in others:
        assert response.status_code == 200
        assert secret not in response.content.decode()
        assert secret not in str(response.headers)
        assert all(secret not in morsel.value for morsel in response.cookies.values())
    events = AuditEvent.objects.filter(target_id=token.public_id)
    assert {e.action for e in events} == {"token.created", "token.renamed", "token.revoked"}
    assert all(secret not in repr(vars(event)) for event in events)
    stored = _every_stored_value()
    assert token.public_id in stored  # the scan does read the tokens table
    assert secret not in stored
    assert secret[4:] not in stored


def test_a_plain_create_keeps_the_secret_out_of_cookies_and_the_session(admin_client, workspace):
    response = admin_client.post(url("create"), create_data())
    secret = revealed_secret(response)

    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert secret not in _every_stored_value()


# Errors stay in the dialog and keep what was typed ---------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_duplicate_name_on_create_shows_the_error_at_the_name_and_keeps_the_input(
    admin_client, ws_token, htmx
):
    data = create_data(
        name="ci-deploy",
        description="Second deployer",
        allowed_ips="203.0.113.0/24",
        expiration="60",
        preset="read_write",
    )
    before = state()

    response = admin_client.post(url("create"), data, **(HTMX if htmx else {}))

    assert response.status_code == 200
    assert is_full_page(response) is not htmx
    assert state() == before
    dom = parse(response)
    assert "An active token is already named “ci-deploy”" in errors_of(field_of(dom, "name"))
    assert dom.find("input", name="name").attrs["value"] == "ci-deploy"
    assert dom.find("input", name="description").attrs["value"] == "Second deployer"
    assert dom.find("textarea", name="allowed_ips").text() == "203.0.113.0/24"
    assert "checked" in dom.find("input", name="expiration", value="60").attrs
    assert "checked" in dom.find("input", name="preset", value="read_write").attrs
    assert errors_of(field_of(dom, "allowed_ips")) == ""
    assert "revealed" not in response.content.decode() and "data-secret=" not in (
        response.content.decode()
    )


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_duplicate_name_on_rename_shows_the_error_at_the_name_and_keeps_the_input(
    admin_client, workspace, manager_user, ws_token, htmx
):
    other, _ = issue(manager_user, workspace, "nightly-backup")
    before = state()

    response = admin_client.post(
        url("rename", other),
        {"name": "ci-deploy", "description": "typed words"},
        **(HTMX if htmx else {}),
    )

    assert response.status_code == 200
    assert is_full_page(response) is not htmx
    assert "HX-Retarget" not in response.headers
    assert state() == before
    dom = parse(response)
    assert "An active token is already named “ci-deploy”" in errors_of(field_of(dom, "name"))
    assert dom.find("input", name="name").attrs["value"] == "ci-deploy"
    assert dom.find("input", name="description").attrs["value"] == "typed words"


def test_a_name_of_a_revoked_token_may_be_reused(admin_client, ws_token):
    admin_client.post(url("revoke", ws_token))

    response = admin_client.post(url("create"), create_data(name="ci-deploy"), **HTMX)

    assert revealed_secret(response)
    assert Token.objects.filter(name="ci-deploy").count() == 2


def test_a_bad_cidr_shows_the_error_at_allowed_ips(admin_client, workspace):
    data = create_data(allowed_ips="10.0.0.0/8\n10.0.0.0/33")

    response = admin_client.post(url("create"), data, **HTMX)

    dom = parse(response)
    assert "“10.0.0.0/33” is not an IP address or CIDR range" in errors_of(
        field_of(dom, "allowed_ips")
    )
    assert "10.0.0.0/8\n10.0.0.0/33" in dom.find("textarea", name="allowed_ips").children[0]
    assert not Token.objects.exists()


def test_allowed_ips_are_saved_normalised(admin_client, workspace):
    admin_client.post(url("create"), create_data(allowed_ips="10.1.2.3/8, 203.0.113.7"), **HTMX)

    assert Token.objects.get().allowed_ips == ["10.0.0.0/8", "203.0.113.7/32"]


@pytest.fixture
def limited(workspace) -> WorkspacePolicy:
    """Limit acme's tokens to 30 days."""
    return WorkspacePolicy.objects.create(workspace=workspace, max_lifetime_days=30)


def _expiration_errors(response) -> str:
    dom = parse(response)
    fieldset = next(n for n in dom.find_all("fieldset") if n.find("legend").text() == "Expiration")
    return errors_of(fieldset)


def test_an_expiry_beyond_the_policy_shows_the_error_at_the_expiration(admin_client, limited):
    day = (timezone.now() + timedelta(days=45)).date().isoformat()

    response = admin_client.post(
        url("create"), create_data(expiration="custom", expires_on=day), **HTMX
    )

    assert "at most 30 days" in errors_of(field_of(parse(response), "expires_on"))
    assert parse(response).find("input", name="expires_on").attrs["value"] == day
    assert not Token.objects.exists()


def test_the_form_names_the_policy_limit_and_offers_only_what_it_allows(admin_client, limited):
    dom = parse(admin_client.get(url("create"), **HTMX))

    offered = [n.attrs["value"] for n in dom.find_all("input", name="expiration")]
    assert offered == ["7", "30", "custom"]
    assert "at most 30 days" in dom.text()


@pytest.mark.parametrize("expiration", ["60", "never"])
def test_a_forged_expiration_beyond_the_policy_is_refused(admin_client, limited, expiration):
    response = admin_client.post(url("create"), create_data(expiration=expiration), **HTMX)

    assert "Select a valid choice" in _expiration_errors(response)
    assert not Token.objects.exists()


def test_the_last_day_the_policy_allows_may_be_chosen(admin_client, limited):
    day = (timezone.now() + timedelta(days=30)).date()

    response = admin_client.post(
        url("create"), create_data(expiration="custom", expires_on=day.isoformat()), **HTMX
    )

    assert revealed_secret(response)
    token = Token.objects.get()
    assert token.expires_at.date() == day
    assert token.expires_at <= timezone.now() + timedelta(days=30)


def test_a_custom_date_in_the_past_is_refused(admin_client, workspace):
    day = (timezone.now() - timedelta(days=1)).date().isoformat()

    response = admin_client.post(
        url("create"), create_data(expiration="custom", expires_on=day), **HTMX
    )

    assert "in the future" in errors_of(field_of(parse(response), "expires_on"))
    assert parse(response).find("input", name="expires_on").attrs["value"] == day
    assert not Token.objects.exists()


def test_a_custom_expiry_without_a_date_asks_for_one(admin_client, workspace):
    response = admin_client.post(url("create"), create_data(expiration="custom"), **HTMX)

    assert "Choose the date the token expires." in errors_of(
        field_of(parse(response), "expires_on")
    )
    assert not Token.objects.exists()


def test_a_custom_date_sets_the_expiry_to_the_end_of_that_day(admin_client, workspace):
    day = (timezone.now() + timedelta(days=10)).date()

    admin_client.post(
        url("create"), create_data(expiration="custom", expires_on=day.isoformat()), **HTMX
    )

    expires_at = Token.objects.get().expires_at
    assert (expires_at.date(), expires_at.hour, expires_at.minute) == (day, 23, 59)


@pytest.mark.parametrize(("expiration", "days"), [("7", 7), ("30", 30), ("60", 60), ("90", 90)])
def test_expiration_presets_set_the_expiry(admin_client, workspace, expiration, days):
    before = timezone.now()

    admin_client.post(url("create"), create_data(expiration=expiration), **HTMX)

    expires_at = Token.objects.get().expires_at
    assert before + timedelta(days=days) <= expires_at <= timezone.now() + timedelta(days=days)


def test_a_token_may_be_limited_to_resources(admin_client, workspace):
    db = Resource.objects.create(workspace=workspace, name="production-db")
    Resource.objects.create(workspace=workspace, name="staging-db")

    admin_client.post(url("create"), create_data(resources=[str(db.pk)]), **HTMX)

    assert list(Token.objects.get().resources.all()) == [db]


def test_a_resource_of_another_workspace_is_refused(admin_client, workspace, other_workspace):
    theirs = Resource.objects.create(workspace=other_workspace, name="their-db")
    Resource.objects.create(workspace=workspace, name="our-db")

    response = admin_client.post(url("create"), create_data(resources=[str(theirs.pk)]), **HTMX)

    assert response.status_code == 200
    assert not Token.objects.exists()
    assert "Select a valid choice" in errors_of(field_of(parse(response), "resources"))


def test_custom_scopes_are_saved(admin_client, workspace):
    admin_client.post(
        url("create"),
        create_data(preset="custom", scopes=["tokens:read", "tokens:introspect"]),
        **HTMX,
    )

    assert Token.objects.get().scopes == ["tokens:read", "tokens:introspect"]


def test_custom_access_without_scopes_is_refused(admin_client, workspace):
    response = admin_client.post(url("create"), create_data(preset="custom"), **HTMX)

    assert "Choose at least one scope." in errors_of(field_of(parse(response), "scopes"))
    assert not Token.objects.exists()


def test_an_empty_name_on_rename_is_refused(admin_client, ws_token):
    response = admin_client.post(url("rename", ws_token), {"name": "  "}, **HTMX)

    assert errors_of(field_of(parse(response), "name"))
    ws_token.refresh_from_db()
    assert ws_token.name == "ci-deploy"


# Filters and pages -----------------------------------------------------------------------


@pytest.fixture
def lifecycle(workspace, admin_user, member_user) -> dict:
    """Create tokens in every state: active, expired, revoked, and a member's personal one."""
    now = timezone.now()
    active, _ = issue(admin_user, workspace, "active-deploy")
    expired, _ = issue(admin_user, workspace, "expired-backup", expires_at=now + timedelta(days=1))
    Token.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(days=1))
    revoked, _ = issue(admin_user, workspace, "revoked-sync")
    services.token_revoke(actor=actor_of(admin_user, workspace), token=revoked)
    personal, _ = issue(member_user, workspace, "mia-deploy", kind=TokenKind.PERSONAL)
    return {"active": active, "expired": expired, "revoked": revoked, "personal": personal}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"active-deploy", "mia-deploy"}),
        ({"status": "active"}, {"active-deploy", "mia-deploy"}),
        ({"status": "expired"}, {"expired-backup"}),
        ({"status": "revoked"}, {"revoked-sync"}),
        ({"status": "all"}, {"active-deploy", "expired-backup", "revoked-sync", "mia-deploy"}),
        ({"status": "nonsense"}, {"active-deploy", "mia-deploy"}),
        ({"kind": "workspace"}, {"active-deploy"}),
        ({"kind": "personal"}, {"mia-deploy"}),
        ({"kind": "personal", "status": "revoked"}, set()),
        ({"q": "DEPLOY"}, {"active-deploy", "mia-deploy"}),
        ({"q": "sync", "status": "all"}, {"revoked-sync"}),
        ({"q": "nothing-like-this"}, set()),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_status_kind_and_search_filters(admin_client, lifecycle, query, expected, htmx):
    response = admin_client.get(url("list"), query, **(HTMX if htmx else {}))

    assert set(row_names(response)) == expected


def test_the_filter_form_keeps_the_chosen_filters(admin_client, lifecycle):
    dom = parse(
        admin_client.get(url("list"), {"status": "revoked", "kind": "personal", "q": "mia"})
    )

    assert "selected" in dom.find("option", value="revoked").attrs
    assert "selected" in dom.find("option", value="personal").attrs
    assert dom.find("input", name="q").attrs["value"] == "mia"


def test_a_filter_without_matches_says_so(admin_client, lifecycle):
    dom = parse(admin_client.get(url("list"), {"q": "nothing-like-this"}))

    assert "No tokens match" in dom.text()


def test_expiring_filter_lists_active_tokens_that_expire_soon(admin_client, workspace, admin_user):
    now = timezone.now()
    issue(admin_user, workspace, "in-3-days", expires_at=now + timedelta(days=3))
    issue(
        admin_user,
        workspace,
        "in-7-days",
        expires_at=now + timedelta(days=7) - timedelta(minutes=1),
    )
    issue(admin_user, workspace, "in-30-days", expires_at=now + timedelta(days=30))
    issue(admin_user, workspace, "never")
    gone, _ = issue(admin_user, workspace, "gone", expires_at=now + timedelta(days=2))
    Token.objects.filter(pk=gone.pk).update(expires_at=now - timedelta(days=2))

    response = admin_client.get(url("list"), {"status": "active", "expiring": "7"})

    assert set(row_names(response)) == {"in-3-days", "in-7-days"}
    assert "Showing tokens expiring within 7 days." in parse(response).text()


def test_unused_filter_lists_tokens_not_used_for_that_many_days(
    admin_client, workspace, admin_user
):
    now = timezone.now()
    used_long_ago, _ = issue(admin_user, workspace, "used-long-ago")
    used_lately, _ = issue(admin_user, workspace, "used-lately")
    never_used_old, _ = issue(admin_user, workspace, "never-used-old")
    issue(admin_user, workspace, "never-used-new")
    Token.objects.filter(pk__in=[used_long_ago.pk, used_lately.pk, never_used_old.pk]).update(
        created_at=now - timedelta(days=90)
    )
    Token.objects.filter(pk=used_long_ago.pk).update(last_used_at=now - timedelta(days=40))
    Token.objects.filter(pk=used_lately.pk).update(last_used_at=now - timedelta(days=2))

    response = admin_client.get(url("list"), {"status": "active", "unused": "30"})

    assert set(row_names(response)) == {"used-long-ago", "never-used-old"}


def test_revoked_within_filter_lists_recent_revocations(admin_client, workspace, admin_user):
    actor = actor_of(admin_user, workspace)
    recent, _ = issue(admin_user, workspace, "revoked-lately")
    old, _ = issue(admin_user, workspace, "revoked-long-ago")
    for token in (recent, old):
        services.token_revoke(actor=actor, token=token)
    Token.objects.filter(pk=old.pk).update(revoked_at=timezone.now() - timedelta(days=45))

    response = admin_client.get(url("list"), {"status": "revoked", "revoked_within": "30"})

    assert set(row_names(response)) == {"revoked-lately"}


def test_special_filters_survive_the_filter_form(admin_client, workspace):
    dom = parse(admin_client.get(url("list"), {"status": "active", "unused": "30"}))

    assert dom.find("input", type="hidden", name="unused").attrs["value"] == "30"


def _bulk_tokens(
    workspace, count: int, *, start: int = 0, users=(), resources=(), maker=None
) -> None:
    """Insert `count` varied tokens at once: both kinds, several creators, some resources.

    With `maker`, some workspace tokens are made by that token (through the API).
    """
    now = timezone.now()
    users = list(users) or [None]
    tokens = []
    for n in range(start, start + count):
        user = users[(n // 3) % len(users)]
        personal = user is not None and n % 3 == 0
        by_token = maker is not None and not personal and n % 4 == 1
        tokens.append(
            Token(
                workspace=workspace,
                kind=TokenKind.PERSONAL if personal else TokenKind.WORKSPACE,
                owner=user if personal else None,
                created_by=None if by_token else user,
                created_by_token=maker if by_token else None,
                name=f"bulk-{n:05d}",
                description=f"Token number {n}" if n % 2 else "",
                prefix="kwp_" if personal else "kww_",
                digest=f"{n:064x}",
                last_four=f"{n % 10000:04d}",
                scopes=["workspace:read", "tokens:read"],
                allowed_ips=["10.0.0.0/8"] if n % 5 == 0 else [],
                expires_at=now + timedelta(days=1 + n % 90) if n % 2 else None,
                created_at=now - timedelta(minutes=n),
                last_used_at=now - timedelta(hours=n) if n % 4 else None,
                last_used_ip="203.0.113.7" if n % 4 else None,
                revoked_at=now + timedelta(hours=1) if n % 7 == 0 else None,
                revoke_reason=RevokeReason.ROTATION if n % 7 == 0 else "",
            )
        )
    created = Token.objects.bulk_create(tokens)
    through = Token.resources.through
    if resources:
        through.objects.bulk_create(
            through(token_id=token.pk, resource_id=resources[i % len(resources)].pk)
            for i, token in enumerate(created)
            if i % 2
        )


def test_pagination_over_25_tokens(admin_client, workspace, admin_user):
    _bulk_tokens(workspace, 60)

    first = admin_client.get(url("list"), {"q": "bulk"})
    third = admin_client.get(url("list"), {"q": "bulk", "page": "3"}, **HTMX)
    beyond = admin_client.get(url("list"), {"q": "bulk", "page": "99"})

    assert row_names(first) == [f"bulk-{n:05d}" for n in range(25)]
    assert row_names(third) == [f"bulk-{n:05d}" for n in range(50, 60)]
    assert row_names(beyond) == row_names(third)
    nav = parse(first).find("nav", class_="pagination")
    assert "Page 1 of 3 · 60 tokens" in nav.text()
    next_link = next(a for a in nav.find_all("a") if a.text() == "Next")
    assert (
        urljoin(url("list"), next_link.attrs["href"])
        == f"{url('list')}?status=active&q=bulk&page=2"
    )
    assert next_link.attrs["hx-get"] == next_link.attrs["href"]


# Query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "member_user"])
@pytest.mark.parametrize("query", [{}, {"status": "all"}], ids=["active", "all"])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_list_query_count_does_not_grow_with_tokens(
    request,
    workspace,
    admin_user,
    manager_user,
    member_user,
    django_assert_num_queries,
    who,
    query,
    htmx,
):
    headers = HTMX if htmx else {}
    users = [admin_user, manager_user, member_user]
    resources = [Resource.objects.create(workspace=workspace, name=f"db-{n}") for n in range(3)]
    maker, _ = issue(admin_user, workspace, "api-maker")
    _bulk_tokens(workspace, 10, users=users, resources=resources, maker=maker)
    client = signed_in(request.getfixturevalue(who))
    client.get(url("list"), query, **headers)  # warm up: the policy row and the session
    with CaptureQueriesContext(connection) as few:
        response = client.get(url("list"), query, **headers)
    shown_few = len(rows(response))
    assert 0 < shown_few < 25

    _bulk_tokens(workspace, 190, start=10, users=users, resources=resources, maker=maker)

    with django_assert_num_queries(len(few)):
        response = client.get(url("list"), query, **headers)
    assert len(rows(response)) == 25
    assert "by token api-maker" in parse(response).text()


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_the_list_runs_seven_queries(workspace, admin_user, manager_user, htmx):
    """The session, its user, the membership with its workspace, SSO settings and token
    policy (for a whole page, with the header's other workspaces: the same query), the
    count, the page of tokens with their makers, the page's resources, and the page's
    per-token limits (gateway's row extra)."""
    resources = [Resource.objects.create(workspace=workspace, name=f"db-{n}") for n in range(2)]
    _bulk_tokens(workspace, 30, users=[admin_user, manager_user], resources=resources)
    client = signed_in(admin_user)
    client.get(url("list"))  # the first request may set up the session
    with CaptureQueriesContext(connection) as seen:
        response = client.get(url("list"), **(HTMX if htmx else {}))
    assert len(rows(response)) == 25
    assert len(seen) == 7, [query["sql"][:80] for query in seen.captured_queries]


def test_the_list_counts_active_tokens_from_its_index_alone(workspace, admin_user):
    """The page's count reads two dates per token from token_workspace_recent, not its row."""
    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN")
    _bulk_tokens(workspace, 200, users=[admin_user])
    with CaptureQueriesContext(connection) as seen:
        signed_in(admin_user).get(url("list"))
    sql = [query["sql"] for query in seen.captured_queries if 'FROM "tokens_token"' in query["sql"]]
    count = next(query for query in sql if "COUNT(*)" in query)
    page = next(query for query in sql if "LIMIT 25" in query)

    def plan(query: str) -> str:
        with connection.cursor() as cursor:
            return " ".join(str(step) for step in cursor.execute(f"EXPLAIN QUERY PLAN {query}"))

    assert "COVERING INDEX token_workspace_recent" in plan(count)
    # The page still walks the same index newest first instead of sorting every token.
    assert "INDEX token_workspace_recent" in plan(page)
    assert "TEMP B-TREE FOR ORDER BY" not in plan(page)


# CSRF --------------------------------------------------------------------------------------


def _csrf_header(client) -> str:
    """Return the CSRF token the page puts in <body hx-headers>, as HTMX would send it."""
    page = client.get(url("list"))
    return re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("create", create_data()),
        ("rename", {"name": "renamed"}),
        ("rotate", {"grace": "none"}),
        ("revoke", {}),
    ],
)
def test_an_htmx_post_without_the_csrf_header_is_refused(admin_user, ws_token, action, data):
    client = signed_in(admin_user, enforce_csrf_checks=True)
    target = url(action, None if action == "create" else ws_token)
    header = _csrf_header(client)
    before = state()

    refused = client.post(target, data, **HTMX)

    assert refused.status_code == 403
    assert state() == before
    accepted = client.post(target, data, **HTMX, HTTP_X_CSRFTOKEN=header)
    assert accepted.status_code == 200
    assert state() != before


def test_a_plain_form_post_carries_its_csrf_field(admin_user, ws_token):
    client = signed_in(admin_user, enforce_csrf_checks=True)
    dialog = parse(client.get(url("rename", ws_token)))
    form = next(
        f for f in dialog.find_all("form") if f.attrs.get("action") == url("rename", ws_token)
    )
    field = form.find("input", name="csrfmiddlewaretoken")

    response = client.post(
        url("rename", ws_token), {"name": "renamed", "csrfmiddlewaretoken": field.attrs["value"]}
    )

    assert response.status_code == 302
    ws_token.refresh_from_db()
    assert ws_token.name == "renamed"


# Names are data, never markup ------------------------------------------------------------

HOSTILE = '<img src=x onerror="alert(1)">'


def test_a_hostile_token_name_is_escaped_everywhere(admin_client, workspace):
    created = admin_client.post(url("create"), create_data(name=HOSTILE), **HTMX)
    token = Token.objects.get()

    responses = [
        created,
        admin_client.get(url("list")),
        admin_client.get(url("rename", token), **HTMX),
        admin_client.get(url("revoke", token), **HTMX),
        admin_client.get(reverse("accounts:workspace_overview", args=["acme"])),
    ]

    for response in responses:
        assert "<img src=x" not in response.content.decode()
        assert "&lt;img src=x" in response.content.decode()
    assert controls(rows(responses[1])[HOSTILE]) == _labels(HOSTILE, *EVERYTHING)
    assert csv_rows(created)[0]["name"] == HOSTILE


def test_a_name_beyond_latin_1_survives_the_htmx_trigger_header(admin_client, ws_token):
    response = admin_client.post(url("rename", ws_token), {"name": "déploiement 🚀"}, **HTMX)

    assert response.status_code == 200
    assert triggers(response)["toast"]["message"] == "Token renamed to déploiement 🚀."
