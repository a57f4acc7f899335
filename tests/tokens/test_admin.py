"""The token admin for operators: search, filters, no secrets, revoke through the service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD
from tests.factories import actor_of, issue
from tokens import services
from tokens.auth import AuthenticationFailed, authenticate_token
from tokens.models import Resource, RevokeReason, Token, TokenKind, TokenStatus

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:tokens_token_changelist")


@pytest.fixture
def tokens(workspace, other_workspace, admin_user, member_user, outsider):
    """Create an active, a revoked, an in-grace and a personal token, and one elsewhere."""
    actor = actor_of(admin_user, workspace)
    deploy, deploy_secret = issue(admin_user, workspace, name="deploy")
    gone, _ = issue(admin_user, workspace, name="gone")
    services.token_revoke(actor=actor, token=gone)
    rotating, _ = issue(admin_user, workspace, name="rotating")
    services.token_rotate(actor=actor, token=rotating, grace="1d")
    personal, _ = issue(member_user, workspace, name="laptop", kind=TokenKind.PERSONAL)
    foreign, _ = issue(outsider, other_workspace, name="foreign")
    return {
        "deploy": Token.objects.get(pk=deploy.pk),
        "deploy_secret": deploy_secret,
        "gone": gone,
        "rotating": rotating,
        "personal": personal,
        "foreign": foreign,
    }


def listed(response) -> set[str]:
    assert response.status_code == 200
    return {token.name for token in response.context["cl"].result_list}


def test_the_changelist_lists_every_workspaces_tokens(operator_client, tokens):
    response = operator_client.get(CHANGELIST)

    assert listed(response) == {"deploy", "gone", "rotating", "laptop", "foreign"}
    assert tokens["deploy"].censored in response.content.decode()


@pytest.mark.parametrize("field", ["name", "public_id", "last_four"])
def test_search_by_name_public_id_and_last_four(operator_client, tokens, field):
    deploy = tokens["deploy"]

    response = operator_client.get(CHANGELIST, {"q": getattr(deploy, field)})

    assert "deploy" in listed(response)
    assert "foreign" not in listed(response)


def test_search_does_not_match_the_digest(operator_client, tokens):
    response = operator_client.get(CHANGELIST, {"q": tokens["deploy"].digest})

    assert listed(response) == set()


@pytest.mark.parametrize(
    ("status", "names"),
    [
        ("active", {"deploy", "rotating", "laptop", "foreign"}),
        ("revoked", {"gone"}),
        ("expired", set()),
    ],
)
def test_the_status_filter(operator_client, tokens, status, names):
    response = operator_client.get(CHANGELIST, {"status": status})

    assert listed(response) == names


def test_the_status_filter_counts_the_successor_and_the_token_in_grace(operator_client, tokens):
    response = operator_client.get(CHANGELIST, {"status": "active", "q": "rotating"})

    assert len(response.context["cl"].result_list) == 2


def test_the_kind_and_workspace_filters(operator_client, tokens, other_workspace):
    personal = operator_client.get(CHANGELIST, {"kind__exact": "personal"})
    foreign = operator_client.get(CHANGELIST, {"workspace__id__exact": other_workspace.pk})

    assert listed(personal) == {"laptop"}
    assert listed(foreign) == {"foreign"}


def test_there_is_no_add_form(operator_client, tokens):
    response = operator_client.get(reverse("admin:tokens_token_add"))

    assert response.status_code == 403
    assert reverse("admin:tokens_token_add") not in operator_client.get(CHANGELIST).content.decode()


def test_there_is_no_delete(operator_client, tokens):
    token = tokens["deploy"]

    changelist = operator_client.get(CHANGELIST).content.decode()
    response = operator_client.post(
        reverse("admin:tokens_token_delete", args=[token.pk]), {"post": "yes"}
    )

    assert 'value="delete_selected"' not in changelist
    assert response.status_code == 403
    assert Token.objects.filter(pk=token.pk).exists()


def test_the_change_page_is_read_only_and_shows_no_digest(operator_client, tokens):
    token = tokens["deploy"]
    url = reverse("admin:tokens_token_change", args=[token.pk])

    page = operator_client.get(url)
    post = operator_client.post(url, {"name": "hijacked", "scopes": '["tokens:write"]'})

    content = page.content.decode()
    assert page.status_code == 200
    assert token.public_id in content
    assert token.censored in content
    assert token.digest not in content
    assert tokens["deploy_secret"][4:34] not in content
    assert post.status_code == 403
    token.refresh_from_db()
    assert token.name == "deploy"


def test_the_revoke_action_goes_through_the_service(operator_client, operator, tokens):
    chosen = [tokens["deploy"], tokens["personal"], tokens["gone"]]
    before = AuditEvent.objects.filter(action="token.revoked").count()

    response = operator_client.post(
        CHANGELIST,
        {"action": "revoke_selected", "_selected_action": [t.pk for t in chosen]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 2 token(s)." in response.content.decode()
    for token in chosen[:2]:
        token.refresh_from_db()
        assert token.status() == TokenStatus.REVOKED
        assert token.revoke_reason == RevokeReason.OPERATOR
        assert token.revoked_by == operator
    events = AuditEvent.objects.filter(action="token.revoked").order_by("id")[before:]
    assert {e.target_id for e in events} == {
        tokens["deploy"].public_id,
        tokens["personal"].public_id,
    }
    for event in events:
        assert event.actor_user == operator
        assert event.details["reason"] == "operator"
    with pytest.raises(AuthenticationFailed):
        authenticate_token(tokens["deploy_secret"])
    gone = Token.objects.get(pk=tokens["gone"].pk)
    assert gone.revoke_reason == RevokeReason.USER  # already revoked: left as it was


def test_the_revoke_action_ends_a_rotation_grace(operator_client, tokens):
    rotating = tokens["rotating"]

    operator_client.post(
        CHANGELIST, {"action": "revoke_selected", "_selected_action": [rotating.pk]}
    )

    rotating.refresh_from_db()
    assert rotating.status() == TokenStatus.REVOKED
    assert rotating.revoke_reason == RevokeReason.OPERATOR


def test_a_staff_user_without_permissions_cannot_see_tokens(workspace, tokens):
    staff = User.objects.create_user("staff@example.com", PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)

    assert client.get(CHANGELIST).status_code == 403


@pytest.mark.parametrize("model", ["resource", "workspacepolicy"])
def test_resources_and_policies_are_read_only(operator_client, workspace, model):
    Resource.objects.create(workspace=workspace, name="db")
    services.workspace_policy(workspace)

    changelist = operator_client.get(reverse(f"admin:tokens_{model}_changelist"))
    add = operator_client.get(reverse(f"admin:tokens_{model}_add"))

    assert changelist.status_code == 200
    assert add.status_code == 403
