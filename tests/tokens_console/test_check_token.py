"""Settings → Tokens → Check a token: paste a value, see which token it is, revoke it as leaked.

The pasted value is a secret someone found in the wild: it must never come back in a
response, a value that is not a Keyward token must cost no query, and the revoke must
go through the same service (and the same rules) as the other ways to revoke.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership, User
from accounts.roles import Role
from tests.factories import HTMX, actor_of, issue, signed_in, triggers
from tests.tokens_console.conftest import errors_of, field_of, parse
from tokens import secrets, services
from tokens.auth import AuthenticationFailed, authenticate_token
from tokens.check_proofs import STALE_PROOF as STALE
from tokens.check_proofs import check_proof, checked_public_id
from tokens.checking import NOT_OURS, WRONG_FORMAT
from tokens.models import RevokeReason, Token, TokenKind, TokenStatus

pytestmark = pytest.mark.django_db

CHECK = reverse("tokens:check", kwargs={"slug": "acme"})
LIST = reverse("tokens:list", kwargs={"slug": "acme"})


def state() -> tuple:
    """Return a snapshot of everything the check view may change."""
    return (
        list(
            Token.objects.order_by("pk").values_list(
                "pk", "name", "revoked_at", "revoke_reason", "revoked_by"
            )
        ),
        AuditEvent.objects.count(),
    )


def unknown_value(kind: str = TokenKind.WORKSPACE) -> str:
    """Return a value with our format and a right checksum that no token has."""
    return secrets.generate(settings.KEYWARD_TOKEN_PREFIX, kind)


def broken_checksum(value: str) -> str:
    """Return `value` with one character of its random part changed (checksum now wrong)."""
    position = len(value) - 10
    replacement = "A" if value[position] != "A" else "B"
    return value[:position] + replacement + value[position + 1 :]


BAD_VALUES = {
    "garbage": "hello world",
    "github": "ghp_" + "a" * 36,
    "too-short": "kww_abc",
    "wrong-prefix": "kwx_" + "a" * 36,
}


def value_errors(response) -> str:
    return errors_of(field_of(parse(response), "value"))


def token_checked_events():
    return AuditEvent.objects.filter(action="token.checked")


def user_of(client) -> User:
    return User.objects.get(pk=client.session[SESSION_KEY])


def revoke_data(token: Token, client) -> dict:
    """Return the Revoke as leaked form as a check of the token's value gives it to the client."""
    return {"revoke": check_proof(token, user_of(client))}


def revoke_offer(dom) -> str | None:
    """Return the public id the result's Revoke as leaked form names, if it has one."""
    field = dom.find("input", name="revoke")
    return None if field is None else field.attrs["value"]


@pytest.fixture
def leaked(workspace, manager_user):
    """Return (token, secret) of the workspace token ci-deploy, made by the Manager."""
    return issue(manager_user, workspace, "ci-deploy")


# Who may check ------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", ["admin_user", "manager_user"])
def test_admins_and_managers_get_the_form(request, who, htmx):
    client = signed_in(request.getfixturevalue(who))

    response = client.get(CHECK, **(HTMX if htmx else {}))

    assert response.status_code == 200
    content = response.content.decode()
    assert ("<html" in content) is not htmx  # a partial for HTMX, a full page without
    dom = parse(response)
    value = dom.find("input", name="value")
    assert value.attrs["type"] == "password"
    assert value.attrs["autocomplete"] == "off"
    assert "value" not in value.attrs
    form = value.closest(lambda n: n.tag == "form")
    assert form.attrs["action"] == CHECK
    assert form.attrs["method"] == "post"
    assert form.attrs["hx-post"] == CHECK
    assert "Check a token" in dom.text()


@pytest.mark.parametrize(
    "data",
    [None, {"value": "hello"}, "revoke"],
    ids=["get", "post-value", "post-revoke"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_members_are_refused_and_nothing_changes(member_client, leaked, data, htmx):
    token, secret = leaked
    before = state()
    extra = HTMX if htmx else {}

    if data is None:
        response = member_client.get(CHECK, **extra)
    elif data == "revoke":
        response = member_client.post(CHECK, revoke_data(token, member_client), **extra)
    else:
        response = member_client.post(CHECK, {"value": secret}, **extra)

    assert response.status_code == 403
    assert secret not in response.content.decode()
    assert state() == before
    assert token_checked_events().count() == 0


@pytest.mark.parametrize("method", ["get", "post-value", "post-revoke"])
def test_outsiders_get_a_404(outsider, leaked, method):
    token, secret = leaked
    client = signed_in(outsider)
    before = state()

    if method == "get":
        response = client.get(CHECK)
    elif method == "post-value":
        response = client.post(CHECK, {"value": secret})
    else:
        response = client.post(CHECK, revoke_data(token, client))

    assert response.status_code == 404
    assert state() == before


def test_anonymous_visitors_are_sent_to_sign_in(client, leaked):
    _, secret = leaked

    for response in (client.get(CHECK), client.post(CHECK, {"value": secret})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert token_checked_events().count() == 0


@pytest.mark.parametrize(
    ("who", "shown"),
    [("admin_user", True), ("manager_user", True), ("member_user", False)],
)
def test_the_check_button_is_shown_to_admins_and_managers_only(request, workspace, who, shown):
    client = signed_in(request.getfixturevalue(who))

    button = parse(client.get(LIST)).find("a", id="check-token")

    assert (button is not None) is shown
    if shown:
        assert button.attrs["href"] == CHECK
        assert button.attrs["hx-get"] == CHECK
        assert button.attrs["hx-target"] == "#modal-content"
        assert button.text() == "Check a token"


# What a check says ---------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_value_of_this_workspace_names_its_token(admin_client, admin_user, leaked, htmx):
    token, secret = leaked
    Token.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - timedelta(hours=3), last_used_ip="203.0.113.7"
    )

    response = admin_client.post(CHECK, {"value": secret}, **(HTMX if htmx else {}))

    assert response.status_code == 200
    dom = parse(response)
    result = dom.find("div", class_="check-result")
    text = result.text()
    assert "This value is ci-deploy" in text
    assert token.censored in text
    assert "a workspace token" in text
    assert "Active" in result.find("span", class_="status status-active").text()
    assert "3 hours ago from 203.0.113.7" in text
    activity = reverse("tokens:activity", kwargs={"slug": "acme", "public_id": token.public_id})
    assert any(a.attrs.get("href") == activity for a in result.find_all("a"))
    # The offer to revoke: a form that posts the token's public id, not the value.
    revoke = next(f for f in dom.find_all("form") if f.find("input", name="revoke"))
    assert revoke.attrs["action"] == CHECK
    assert revoke.attrs["hx-post"] == CHECK
    proof = revoke.find("input", name="revoke").attrs["value"]
    assert checked_public_id(proof, user_of(admin_client)) == token.public_id
    assert revoke.find("input", name="value") is None
    button = revoke.find("button", type="submit")
    assert button.text() == "Revoke as leaked"
    assert "danger" in button.classes()


def test_a_successful_check_is_audited_without_the_value(admin_client, admin_user, leaked):
    token, secret = leaked

    admin_client.post(
        CHECK, {"value": secret}, HTTP_USER_AGENT="pytest-check", REMOTE_ADDR="198.51.100.4"
    )

    event = token_checked_events().get()
    assert event.actor_user == admin_user
    assert event.workspace_id == token.workspace_id
    assert (event.target_type, event.target_id) == ("token", token.public_id)
    assert event.ip == "198.51.100.4"
    assert event.user_agent == "pytest-check"
    assert secret not in str(event.details)
    assert secret[4:34] not in str(event.details)
    token.refresh_from_db()
    assert token.is_active  # a check changes nothing about the token


def test_a_value_with_spaces_and_a_newline_around_it_is_found(admin_client, leaked):
    _, secret = leaked

    response = admin_client.post(CHECK, {"value": f"  {secret}\n"}, **HTMX)

    assert "This value is ci-deploy" in parse(response).text()


def test_a_personal_token_names_its_owner(admin_client, workspace, member_user):
    _, secret = issue(member_user, workspace, "mia-laptop", kind=TokenKind.PERSONAL)

    text = parse(admin_client.post(CHECK, {"value": secret}, **HTMX)).text()

    assert "a personal token of member@example.com" in text


def test_a_revoked_token_shows_its_reason_and_no_revoke_offer(admin_client, admin_user, leaked):
    token, secret = leaked
    services.token_revoke(actor=actor_of(admin_user, token.workspace), token=token)

    response = admin_client.post(CHECK, {"value": secret}, **HTMX)

    dom = parse(response)
    assert "Revoked" in dom.find("span", class_="status status-revoked").text()
    assert RevokeReason.USER.label in dom.text()
    assert dom.find("input", name="revoke") is None
    assert token_checked_events().count() == 1  # it is still the workspace's token


def test_an_expired_token_has_no_revoke_offer(admin_client, workspace, admin_user):
    token, secret = issue(admin_user, workspace, "old")
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))

    dom = parse(admin_client.post(CHECK, {"value": secret}, **HTMX))

    assert "Expired" in dom.find("span", class_="status status-expired").text()
    assert dom.find("input", name="revoke") is None


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("bad", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_a_value_that_is_not_a_keyward_token_says_so_at_the_field(admin_client, leaked, bad, htmx):
    before = state()

    response = admin_client.post(CHECK, {"value": BAD_VALUES[bad]}, **(HTMX if htmx else {}))

    assert response.status_code == 200
    assert WRONG_FORMAT in value_errors(response)
    assert parse(response).find("div", class_="check-result") is None
    assert state() == before


def test_a_wrong_checksum_says_so_at_the_field(admin_client, leaked):
    _, secret = leaked

    response = admin_client.post(CHECK, {"value": broken_checksum(secret)}, **HTMX)

    assert WRONG_FORMAT in value_errors(response)
    assert token_checked_events().count() == 0


def test_an_empty_value_is_required(admin_client, leaked):
    response = admin_client.post(CHECK, {"value": ""}, **HTMX)

    assert response.status_code == 200
    assert value_errors(response)
    assert token_checked_events().count() == 0


@pytest.mark.parametrize(
    "bad",
    [*BAD_VALUES.values(), "kww_" + "a" * 36],
    ids=[*BAD_VALUES, "wrong-checksum"],
)
def test_a_value_that_is_not_a_keyward_token_costs_no_query(
    django_assert_num_queries, workspace, bad
):
    with django_assert_num_queries(0):
        assert services.secrets_look_valid(bad) is False
        assert services.token_find_by_value(bad, workspace) is None
        assert services.token_find_by_value(bad) is None


def test_the_view_does_not_look_up_a_value_with_a_wrong_checksum(admin_client, leaked):
    _, secret = leaked

    with CaptureQueriesContext(connection) as bad:
        admin_client.post(CHECK, {"value": broken_checksum(secret)}, **HTMX)
    with CaptureQueriesContext(connection) as good:
        admin_client.post(CHECK, {"value": secret}, **HTMX)

    def by_digest(queries) -> list[str]:
        return [q["sql"] for q in queries if re.search(r'"digest"\s*=', q["sql"])]

    assert by_digest(bad.captured_queries) == []
    assert len(by_digest(good.captured_queries)) == 1  # the test would see a lookup


def test_a_valid_looking_unknown_value_is_not_found(admin_client, leaked):
    before = state()

    response = admin_client.post(CHECK, {"value": unknown_value()}, **HTMX)

    assert response.status_code == 200
    assert NOT_OURS in value_errors(response)
    assert parse(response).find("div", class_="check-result") is None
    assert state() == before


def test_unknown_values_are_limited_like_bad_bearer_tokens(admin_client, leaked, settings):
    settings.KEYWARD_API_AUTH_FAILURES_PER_IP = 2
    for _ in range(2):
        admin_client.post(CHECK, {"value": unknown_value()}, **HTMX)
    before = state()

    response = admin_client.post(CHECK, {"value": unknown_value()}, **HTMX)

    assert "Too many values that are no token were checked from your address." in (
        value_errors(response)
    )
    assert state() == before
    # Only misses are refused: a value that is a token is still found.
    found = admin_client.post(CHECK, {"value": leaked[1]}, **HTMX)
    assert parse(found).find("div", class_="check-result") is not None


def test_another_workspaces_token_is_not_found_and_left_alone(
    admin_client, foreign_token, outsider, other_workspace
):
    # foreign_token's secret is not kept: make one whose secret we know.
    foreign, secret = issue(outsider, other_workspace, "globex-deploy")
    before = state()

    response = admin_client.post(CHECK, {"value": secret}, **HTMX)

    assert NOT_OURS in value_errors(response)
    text = response.content.decode()
    assert "globex-deploy" not in text
    assert foreign.public_id not in text
    assert foreign.censored not in text
    assert state() == before  # no token.checked event in either workspace
    foreign.refresh_from_db()
    assert foreign.is_active


def test_another_workspaces_token_cannot_be_revoked_by_its_public_id(
    admin_client, outsider, other_workspace
):
    foreign, _ = issue(outsider, other_workspace, "globex-deploy")
    before = state()

    response = admin_client.post(CHECK, revoke_data(foreign, admin_client), **HTMX)

    assert response.status_code == 404
    assert state() == before


# The pasted value never comes back -------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_pasted_value_appears_in_no_response(
    admin_client, leaked, outsider, other_workspace, htmx
):
    token, secret = leaked
    _, foreign_secret = issue(outsider, other_workspace, "globex-deploy")
    extra = HTMX if htmx else {}
    pasted = {
        "ours": secret,
        "ours-padded": f"  {secret}  ",
        "foreign": foreign_secret,
        "unknown": unknown_value(),
        "bad-checksum": broken_checksum(secret),
        "garbage": "not-a-token-but-secret-anyway-1234567890",
    }

    for name, value in pasted.items():
        response = admin_client.post(CHECK, {"value": value}, **extra)
        content = response.content.decode()
        assert value.strip() not in content, name
        # Nor its random part, in case it were shown without its prefix.
        if value.strip().startswith("kww_"):
            assert value.strip()[4:34] not in content, name
        assert value.strip() not in str(response.headers), name

    followed = admin_client.post(CHECK, revoke_data(token, admin_client), follow=not htmx, **extra)
    assert secret not in followed.content.decode()


@pytest.mark.parametrize("case", ["form", "found", "error", "revoke-plain"])
def test_check_responses_are_not_stored(admin_client, leaked, case):
    _, secret = leaked

    if case == "form":
        response = admin_client.get(CHECK)
    elif case == "found":
        response = admin_client.post(CHECK, {"value": secret}, **HTMX)
    elif case == "error":
        response = admin_client.post(CHECK, {"value": unknown_value()}, **HTMX)
    else:
        response = admin_client.post(CHECK, {"value": secret})

    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control


# Revoke as leaked -----------------------------------------------------------------------


def test_htmx_revoke_as_leaked_closes_the_modal_and_refreshes_the_list(
    admin_client, admin_user, leaked, django_capture_on_commit_callbacks
):
    token, secret = leaked
    admin_client.post(CHECK, {"value": secret}, **HTMX)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    assert response.status_code == 204
    assert response.content == b""
    events = triggers(response)
    assert {"modal:close", "toast", "tokens:changed"} <= set(events)
    assert events["toast"]["level"] == "success"
    assert events["toast"]["message"].startswith("Token ci-deploy revoked as leaked.")
    token.refresh_from_db()
    assert token.status() == TokenStatus.REVOKED
    assert token.revoke_reason == RevokeReason.LEAK
    assert token.revoked_by == admin_user
    assert token.revoked_at <= timezone.now()


def test_plain_revoke_as_leaked_redirects_to_the_list_with_a_message(admin_client, leaked):
    token, _ = leaked

    response = admin_client.post(CHECK, revoke_data(token, admin_client))

    assert response.status_code == 302
    assert response["Location"] == LIST
    page = admin_client.get(response["Location"])
    assert "Token ci-deploy revoked as leaked." in parse(page).find("div", id="toasts").text()
    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK


def test_revoke_as_leaked_is_audited_as_found_by_a_member(admin_client, admin_user, leaked):
    token, _ = leaked

    admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX, REMOTE_ADDR="198.51.100.9")

    event = AuditEvent.objects.get(action="token.revoked")
    assert event.actor_user == admin_user
    assert event.workspace_id == token.workspace_id
    assert event.target_id == token.public_id
    assert event.details["reason"] == RevokeReason.LEAK
    assert event.details["found_by"] == "member"
    assert event.ip == "198.51.100.9"


def test_revoke_as_leaked_stops_the_token_authenticating(admin_client, leaked):
    token, secret = leaked
    authenticate_token(secret)  # works before

    admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    with pytest.raises(AuthenticationFailed):
        authenticate_token(secret)


def test_revoke_as_leaked_emails_the_tokens_people_after_commit(
    admin_client, leaked, django_capture_on_commit_callbacks
):
    token, _ = leaked
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)
        assert mail.outbox == []  # nothing is sent before the revoke commits
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    # The creator of a workspace token (the Manager) and the workspace's Admins.
    assert sorted(message.to) == ["admin@example.com", "manager@example.com"]
    assert "ci-deploy" in message.subject
    assert token.censored in message.body
    activity = reverse("tokens:activity", kwargs={"slug": "acme", "public_id": token.public_id})
    assert activity in message.body


def test_revoke_as_leaked_of_a_personal_token_emails_its_owner(
    admin_client, workspace, member_user, django_capture_on_commit_callbacks
):
    token, _ = issue(member_user, workspace, "mia-laptop", kind=TokenKind.PERSONAL)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    assert [sorted(m.to) for m in mail.outbox] == [["admin@example.com", "member@example.com"]]


def test_the_email_of_a_leak_reported_in_the_console_names_who_reported_it(
    admin_client, leaked, django_capture_on_commit_callbacks
):
    token, _ = leaked
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    body = mail.outbox[0].body
    assert "admin@example.com" in body
    assert "GitHub found" not in body


def test_revoke_as_leaked_of_a_token_in_its_rotation_grace_ends_it_now(
    admin_client, admin_user, leaked
):
    token, old_secret = leaked
    services.token_rotate(actor=actor_of(admin_user, token.workspace), token=token, grace="7d")
    token.refresh_from_db()
    assert token.is_active  # still in its grace period

    found = parse(admin_client.post(CHECK, {"value": old_secret}, **HTMX))
    assert checked_public_id(revoke_offer(found), user_of(admin_client)) == token.public_id
    admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    token.refresh_from_db()
    assert token.status() == TokenStatus.REVOKED
    assert token.revoke_reason == RevokeReason.LEAK
    successor = Token.objects.get(rotated_from=token)
    assert successor.is_active  # the new secret is not the one that leaked


def test_revoke_as_leaked_of_a_revoked_token_changes_nothing(
    admin_client, admin_user, leaked, django_capture_on_commit_callbacks
):
    token, _ = leaked
    services.token_revoke(actor=actor_of(admin_user, token.workspace), token=token)
    token.refresh_from_db()
    revoked_at = token.revoked_at
    before = state()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    assert response.status_code == 204
    assert state() == before
    assert mail.outbox == []
    token.refresh_from_db()
    assert (token.revoked_at, token.revoke_reason) == (revoked_at, RevokeReason.USER)


def test_revoke_as_leaked_twice_revokes_and_emails_once(
    admin_client, leaked, django_capture_on_commit_callbacks
):
    token, _ = leaked
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)
        admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    assert AuditEvent.objects.filter(action="token.revoked").count() == 1
    assert len(mail.outbox) == 1


def test_revoking_an_already_revoked_token_does_not_claim_an_email(
    admin_client, admin_user, leaked
):
    token, _ = leaked
    services.token_revoke(actor=actor_of(admin_user, token.workspace), token=token)

    response = admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    assert "emailed" not in triggers(response)["toast"]["message"]


def test_an_unknown_public_id_is_a_404(admin_client, leaked):
    before = state()
    missing = Token(public_id="tok_doesnotexist")

    response = admin_client.post(CHECK, revoke_data(missing, admin_client), **HTMX)

    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_public_id_alone_does_not_revoke_a_token_as_leaked(admin_client, leaked, htmx):
    token, _ = leaked
    before = state()
    mail.outbox.clear()

    response = admin_client.post(CHECK, {"revoke": token.public_id}, **(HTMX if htmx else {}))

    assert response.status_code == 200
    assert STALE in parse(response).text()
    assert parse(response).find("input", name="value") is not None  # paste it again
    assert state() == before
    assert mail.outbox == []


def test_a_check_made_by_someone_else_does_not_revoke(admin_client, manager_user, leaked):
    token, _ = leaked
    before = state()

    response = admin_client.post(CHECK, {"revoke": check_proof(token, manager_user)}, **HTMX)

    assert STALE in parse(response).text()
    assert state() == before


def test_a_check_older_than_ten_minutes_must_be_made_again(admin_client, leaked, monkeypatch):
    token, _ = leaked
    eleven_minutes_ago = time.time() - 11 * 60
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: eleven_minutes_ago)
        stale = check_proof(token, user_of(admin_client))
    before = state()

    response = admin_client.post(CHECK, {"revoke": stale}, **HTMX)

    assert STALE in parse(response).text()
    assert state() == before


# Managers: workspace tokens and their own, not an Admin's personal token ---------------


def test_a_manager_revokes_a_workspace_token_found_by_value(
    manager_client, manager_user, workspace, admin_user
):
    token, secret = issue(admin_user, workspace, "admin-made")

    found = parse(manager_client.post(CHECK, {"value": secret}, **HTMX))
    assert checked_public_id(revoke_offer(found), user_of(manager_client)) == token.public_id
    response = manager_client.post(CHECK, revoke_data(token, manager_client), **HTMX)

    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK
    assert token.revoked_by == manager_user


def test_a_manager_revokes_their_own_personal_token(manager_client, manager_personal):
    response = manager_client.post(CHECK, revoke_data(manager_personal, manager_client), **HTMX)

    assert response.status_code == 204
    manager_personal.refresh_from_db()
    assert manager_personal.revoke_reason == RevokeReason.LEAK


def test_a_manager_sees_an_admins_personal_token_but_is_not_offered_to_revoke_it(
    manager_client, workspace, admin_user
):
    token, secret = issue(admin_user, workspace, "ada-laptop", kind=TokenKind.PERSONAL)

    dom = parse(manager_client.post(CHECK, {"value": secret}, **HTMX))

    assert "This value is ada-laptop" in dom.text()
    assert "Your role may not revoke this token; ask one of the Admins." in dom.text()
    assert dom.find("input", name="revoke") is None
    assert token_checked_events().filter(target_id=token.public_id).count() == 1


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_manager_may_not_revoke_an_admins_personal_token_by_forging_the_form(
    manager_client, workspace, admin_user, htmx
):
    token, _ = issue(admin_user, workspace, "ada-laptop", kind=TokenKind.PERSONAL)
    before = state()
    mail.outbox.clear()

    response = manager_client.post(
        CHECK, revoke_data(token, manager_client), **(HTMX if htmx else {})
    )

    assert response.status_code == 403
    assert state() == before
    assert mail.outbox == []
    token.refresh_from_db()
    assert token.is_active


def test_an_admin_revokes_a_managers_personal_token_found_by_value(
    admin_client, workspace, manager_user
):
    token, secret = issue(manager_user, workspace, "max-laptop", kind=TokenKind.PERSONAL)

    found = parse(admin_client.post(CHECK, {"value": secret}, **HTMX))
    assert found.find("input", name="revoke") is not None
    response = admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK


# CSRF -------------------------------------------------------------------------------


def _csrf_from(client) -> str:
    """Return the CSRF token the page puts in <body hx-headers>, as HTMX would send it."""
    page = client.get(LIST)
    return re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)


def test_a_check_without_the_csrf_token_is_refused(admin_user, leaked):
    _, secret = leaked
    client = signed_in(admin_user, enforce_csrf_checks=True)
    header = _csrf_from(client)

    refused = client.post(CHECK, {"value": secret}, **HTMX)
    accepted = client.post(CHECK, {"value": secret}, **HTMX, HTTP_X_CSRFTOKEN=header)

    assert refused.status_code == 403
    assert secret not in refused.content.decode()
    assert accepted.status_code == 200
    assert token_checked_events().count() == 1  # only the accepted one


def test_a_revoke_without_the_csrf_token_is_refused(admin_user, leaked):
    token, _ = leaked
    client = signed_in(admin_user, enforce_csrf_checks=True)
    before = state()

    refused = client.post(CHECK, revoke_data(token, client), **HTMX)

    assert refused.status_code == 403
    assert state() == before
    # The plain form carries its own CSRF field, and that is enough.
    form = parse(client.get(CHECK)).find("form")
    field = form.find("input", name="csrfmiddlewaretoken")
    accepted = client.post(
        CHECK, {**revoke_data(token, client), "csrfmiddlewaretoken": field.attrs["value"]}
    )
    assert accepted.status_code == 302
    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK


def test_revoke_as_leaked_names_whom_it_emailed(admin_client, admin_user, leaked, mailoutbox):
    token, _ = leaked

    response = admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    assert triggers(response)["toast"]["message"] == (
        "Token ci-deploy revoked as leaked. Emailing admin@example.com, manager@example.com."
    )


def test_revoke_as_leaked_says_when_nobody_was_emailed(admin_client, admin_user, leaked):
    """The creator has left and the one who revokes is a Manager: no Admin, no owner."""
    token, _ = leaked
    User.objects.filter(pk=token.created_by_id).update(is_active=False)
    Membership.objects.filter(user=admin_user).update(role=Role.MANAGER)

    response = admin_client.post(CHECK, revoke_data(token, admin_client), **HTMX)

    assert triggers(response)["toast"]["message"] == (
        "Token ci-deploy revoked as leaked. Nobody was emailed: it has no active owner or Admin."
    )
