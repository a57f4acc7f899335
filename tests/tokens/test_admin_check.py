"""Django admin for operators: Check a token by value in any workspace, revoke it as leaked,
and the read-only leak reports."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD
from tests.factories import actor_of, issue
from tokens import secrets, services
from tokens.auth import AuthenticationFailed, authenticate_token
from tokens.check_proofs import check_proof, checked_public_id
from tokens.checking import NOT_FOUND, WRONG_FORMAT
from tokens.models import LeakReport, RevokeReason, Token, TokenKind, TokenStatus

pytestmark = pytest.mark.django_db

CHECK = reverse("admin:tokens_token_check")
CHANGELIST = reverse("admin:tokens_token_changelist")


@pytest.fixture
def acme_token(workspace, admin_user):
    """Return (token, secret) of a workspace token of Acme."""
    return issue(admin_user, workspace, name="deploy")


@pytest.fixture
def globex_token(other_workspace, outsider):
    """Return (token, secret) of a workspace token of Globex."""
    return issue(outsider, other_workspace, name="globex-ci")


def revoke_data(token: Token, user: User) -> dict:
    """Return the Revoke as leaked form as a check of the token's value gives it to `user`."""
    return {"revoke": check_proof(token, user)}


def change_url(token: Token) -> str:
    return reverse("admin:tokens_token_change", args=[token.pk])


def state() -> tuple:
    return (
        list(Token.objects.order_by("pk").values_list("pk", "revoked_at", "revoke_reason")),
        AuditEvent.objects.count(),
    )


def form_errors(response) -> str:
    """Return the text of the error list of the value field."""
    found = re.search(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S
    )
    return re.sub(r"<[^>]+>", " ", found.group(1)) if found else ""


# Finding a token -------------------------------------------------------------------------


def test_the_form_asks_for_the_value_in_a_password_field(operator_client):
    response = operator_client.get(CHECK)

    assert response.status_code == 200
    content = response.content.decode()
    field = re.search(r"<input[^>]*name=\"value\"[^>]*>", content).group(0)
    assert 'type="password"' in field
    assert 'autocomplete="off"' in field
    assert "value=" not in field.replace('name="value"', "")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("which", ["acme_token", "globex_token"])
def test_an_operator_finds_a_token_of_any_workspace(request, operator_client, operator, which):
    token, secret = request.getfixturevalue(which)

    response = operator_client.post(CHECK, {"value": secret})

    assert response.status_code == 200
    assert response.context["found"] == token
    content = response.content.decode()
    assert f"<h2>{token.name}</h2>" in content
    assert token.censored in content
    assert token.public_id in content
    assert str(token.workspace) in content
    assert change_url(token) in content
    assert 'name="revoke"' in content
    proof = re.search(r'name="revoke" value="([^"]+)"', content).group(1)
    assert checked_public_id(proof, operator) == token.public_id
    # No secret, no part of it, no digest.
    assert secret not in content
    assert secret[4:34] not in content
    assert token.digest not in content
    assert "no-store" in response["Cache-Control"]


def test_a_successful_check_is_audited_in_the_tokens_workspace(
    operator_client, operator, globex_token
):
    token, secret = globex_token

    operator_client.post(CHECK, {"value": secret})

    event = AuditEvent.objects.get(action="token.checked")
    assert event.actor_user == operator
    assert event.workspace == token.workspace
    assert event.target_id == token.public_id
    assert secret not in str(event.details)
    token.refresh_from_db()
    assert token.is_active  # a check changes nothing


def test_a_personal_token_names_its_owner(operator_client, workspace, member_user):
    _, secret = issue(member_user, workspace, name="laptop", kind=TokenKind.PERSONAL)

    content = operator_client.post(CHECK, {"value": secret}).content.decode()

    assert "Personal of member@example.com" in content


def test_a_revoked_token_shows_its_reason_and_no_revoke_button(
    operator_client, admin_user, workspace, acme_token
):
    token, secret = acme_token
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    content = operator_client.post(CHECK, {"value": secret}).content.decode()

    assert "Revoked (Revoked by a user)" in content
    assert 'name="revoke"' not in content


def test_an_expired_token_has_no_revoke_button(operator_client, acme_token):
    token, secret = acme_token
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))

    content = operator_client.post(CHECK, {"value": secret}).content.decode()

    assert "Expired" in content
    assert 'name="revoke"' not in content


@pytest.mark.parametrize(
    "value",
    ["hello", "ghp_" + "a" * 36, "kww_" + "a" * 36, ""],
    ids=["garbage", "github", "wrong-checksum", "empty"],
)
def test_a_bad_value_is_an_error(operator_client, acme_token, value):
    before = state()

    response = operator_client.post(CHECK, {"value": value})

    assert response.status_code == 200
    assert response.context["found"] is None
    if value:
        assert WRONG_FORMAT in form_errors(response)
        assert value not in response.content.decode().replace(WRONG_FORMAT, "")
    else:
        assert form_errors(response)  # required
    assert state() == before


def test_an_unknown_value_is_not_found(operator_client, acme_token):
    value = secrets.generate(settings.KEYWARD_TOKEN_PREFIX, TokenKind.WORKSPACE)
    before = state()

    response = operator_client.post(CHECK, {"value": value})

    assert NOT_FOUND in form_errors(response)
    assert value not in response.content.decode()
    assert state() == before


def test_unknown_values_are_limited_like_bad_bearer_tokens(operator_client, acme_token, settings):
    settings.KEYWARD_API_AUTH_FAILURES_PER_IP = 1
    unknown = secrets.generate(settings.KEYWARD_TOKEN_PREFIX, TokenKind.WORKSPACE)
    operator_client.post(CHECK, {"value": unknown})

    response = operator_client.post(CHECK, {"value": unknown})

    assert "Too many values that are no token were checked" in form_errors(response)
    found = operator_client.post(CHECK, {"value": acme_token[1]})  # a token is still found
    assert form_errors(found) == ""
    assert acme_token[0].public_id in found.content.decode()


def test_a_found_value_is_not_echoed_in_the_form(operator_client, acme_token):
    _, secret = acme_token

    response = operator_client.post(CHECK, {"value": secret})

    assert secret not in response.content.decode()


# Revoke as leaked -------------------------------------------------------------------------


def test_revoke_as_leaked(
    operator_client, operator, acme_token, django_capture_on_commit_callbacks
):
    token, secret = acme_token
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(CHECK, revoke_data(token, operator))

    assert response.status_code == 302
    assert response["Location"] == change_url(token)
    token.refresh_from_db()
    assert token.status() == TokenStatus.REVOKED
    assert token.revoke_reason == RevokeReason.LEAK
    assert token.revoked_by == operator
    with pytest.raises(AuthenticationFailed):
        authenticate_token(secret)
    page = operator_client.get(response["Location"])
    assert "Token deploy revoked as leaked. Emailing admin@example.com." in page.content.decode()
    # The token's people hear of it: its creator, who is also Acme's Admin.
    assert [m.to for m in mail.outbox] == [["admin@example.com"]]


def test_revoking_a_revoked_token_says_nothing_changed_as_the_console_does(
    operator_client, operator, acme_token, admin_user, workspace
):
    token, _ = acme_token
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    response = operator_client.post(CHECK, revoke_data(token, operator), follow=True)

    assert "Token deploy was already revoked; nothing changed." in response.content.decode()


def test_revoke_as_leaked_is_audited_with_the_operator_as_actor(
    operator_client, operator, globex_token
):
    token, _ = globex_token

    operator_client.post(CHECK, revoke_data(token, operator), REMOTE_ADDR="198.51.100.200")

    event = AuditEvent.objects.get(action="token.revoked")
    assert event.actor_user == operator
    assert event.actor_label == "operator@example.com"
    assert event.workspace == token.workspace
    assert event.target_id == token.public_id
    assert event.details["reason"] == RevokeReason.LEAK
    assert event.details["found_by"] == "operator"
    assert event.ip == "198.51.100.200"


def test_revoke_as_leaked_of_a_personal_token(operator_client, operator, workspace, member_user):
    token, _ = issue(member_user, workspace, name="laptop", kind=TokenKind.PERSONAL)

    operator_client.post(CHECK, revoke_data(token, operator))

    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK


def test_revoking_a_revoked_token_changes_nothing(
    operator_client, operator, admin_user, workspace, acme_token, django_capture_on_commit_callbacks
):
    token, _ = acme_token
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)
    before = state()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(CHECK, revoke_data(token, operator), follow=True)

    assert response.status_code == 200
    assert "was already revoked; nothing changed." in response.content.decode()
    assert state() == before
    assert mail.outbox == []


def test_a_public_id_alone_does_not_revoke_a_token_as_leaked(operator_client, acme_token):
    token, _ = acme_token
    before = state()
    mail.outbox.clear()

    response = operator_client.post(CHECK, {"revoke": token.public_id}, follow=True)

    assert response.status_code == 200
    assert "Paste the value again" in response.content.decode()
    assert state() == before
    assert mail.outbox == []


def test_revoking_an_unknown_token_is_a_404(operator_client, operator, acme_token):
    before = state()

    response = operator_client.post(CHECK, revoke_data(Token(public_id="tok_unknown"), operator))

    assert response.status_code == 404
    assert state() == before


def test_the_check_form_needs_its_csrf_token(operator, acme_token):
    token, secret = acme_token
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    before = state()

    refused_check = client.post(CHECK, {"value": secret})
    refused_revoke = client.post(CHECK, revoke_data(token, operator))

    assert refused_check.status_code == 403
    assert refused_revoke.status_code == 403
    assert state() == before
    csrf = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(CHECK).content.decode()
    ).group(1)
    accepted = client.post(CHECK, {**revoke_data(token, operator), "csrfmiddlewaretoken": csrf})
    assert accepted.status_code == 302


# Who may use it -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "admin_user", "member_user"])
def test_non_staff_are_sent_to_the_admin_login(request, acme_token, who):
    token, secret = acme_token
    client = Client()
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    before = state()

    responses = [
        client.get(CHECK),
        client.post(CHECK, {"value": secret}),
        client.post(CHECK, {"revoke": token.public_id}),
    ]

    for response in responses:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert state() == before


def test_staff_without_the_token_view_permission_are_refused(acme_token):
    token, secret = acme_token
    staff = User.objects.create_user("staff@example.com", PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)
    before = state()

    assert client.get(CHECK).status_code == 403
    assert client.post(CHECK, {"value": secret}).status_code == 403
    assert client.post(CHECK, revoke_data(token, staff)).status_code == 403
    assert state() == before


def test_staff_with_the_view_permission_may_check(acme_token):
    token, secret = acme_token
    staff = User.objects.create_user("viewer@example.com", PASSWORD, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_token"))
    client = Client()
    client.force_login(staff)

    response = client.post(CHECK, {"value": secret})

    assert response.status_code == 200
    assert response.context["found"] == token
    assert "Revoke as leaked" not in response.content.decode()


def test_staff_who_may_only_view_tokens_cannot_revoke(acme_token):
    token, _ = acme_token
    staff = User.objects.create_user("viewer@example.com", PASSWORD, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_token"))
    client = Client()
    client.force_login(staff)

    check = client.post(CHECK, revoke_data(token, staff))
    action = client.post(
        reverse("admin:tokens_token_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
    )

    assert check.status_code == 403
    assert action.status_code in (200, 302)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_changelist_links_to_check_a_token(operator_client, acme_token):
    content = operator_client.get(CHANGELIST).content.decode()

    assert f'<a href="{CHECK}">Check a token</a>' in content


def test_the_check_page_has_breadcrumbs_back_to_the_tokens(operator_client):
    content = operator_client.get(CHECK).content.decode()

    assert CHANGELIST in content
    assert "Check a token" in content


# Leak reports -------------------------------------------------------------------------------


@pytest.fixture
def report(acme_token) -> LeakReport:
    token, _ = acme_token
    return LeakReport.objects.create(
        key_identifier="github-key-1",
        reported=2,
        ours=1,
        revoked=1,
        entries=[
            {
                "token_id": token.public_id,
                "type": "keyward_workspace_token",
                "url": "https://github.com/octo/repo/blob/main/.env",
                "source": "content",
                "label": "true_positive",
            },
            {
                "token_id": "",
                "type": "keyward_workspace_token",
                "url": "https://github.com/octo/repo/blob/main/x",
                "source": "content",
                "label": "false_positive",
            },
        ],
        duration_ms=12.5,
    )


def test_the_leak_report_list_shows_a_report(operator_client, report):
    response = operator_client.get(reverse("admin:tokens_leakreport_changelist"))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [report]
    content = response.content.decode()
    assert "github" in content
    assert reverse("admin:tokens_leakreport_add") not in content
    assert 'value="delete_selected"' not in content


def test_a_leak_report_shows_read_only(operator_client, report, acme_token):
    token, _ = acme_token
    url = reverse("admin:tokens_leakreport_change", args=[report.pk])

    response = operator_client.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    assert "github-key-1" in content
    assert token.public_id in content
    assert "https://github.com/octo/repo/blob/main/.env" in content
    assert 'name="_save"' not in content
    assert '<input type="text"' not in content
    assert "<textarea" not in content


def test_leak_reports_cannot_be_added_changed_or_deleted(operator_client, report):
    before = LeakReport.objects.values().get(pk=report.pk)

    add = operator_client.post(reverse("admin:tokens_leakreport_add"), {"reported": 1})
    change = operator_client.post(
        reverse("admin:tokens_leakreport_change", args=[report.pk]),
        {"reported": 99, "ours": 0, "revoked": 0, "source": "forged", "entries": "[]"},
    )
    delete = operator_client.post(
        reverse("admin:tokens_leakreport_delete", args=[report.pk]), {"post": "yes"}
    )
    bulk = operator_client.post(
        reverse("admin:tokens_leakreport_changelist"),
        {"action": "delete_selected", "_selected_action": [report.pk], "post": "yes"},
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert bulk.status_code in {200, 302}  # "No action selected": the action does not exist
    assert LeakReport.objects.count() == 1
    assert LeakReport.objects.values().get(pk=report.pk) == before
