"""A service's scopes join its workspace's catalogue: tokens of that workspace may hold them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Membership
from accounts.roles import Role
from accounts.services import membership_change_role
from tests.factories import issue
from tokens import scopes as scope_catalogue
from tokens.models import TokenKind


def test_the_workspace_catalogue_lists_each_services_scopes(workspace, billing):
    names = scope_catalogue.catalogue(workspace.pk)
    assert names["billing:read"].label == "Read Billing"
    assert "GET, HEAD, OPTIONS" in names["billing:read"].description
    assert names["billing:write"].lowest_role == Role.MANAGER
    assert "billing:read" not in scope_catalogue.catalogue()  # no workspace, no services


def test_a_manager_grants_them_a_member_only_read(
    workspace, billing, manager_user, member_user, admin_user
):
    issue(manager_user, workspace, "rw", scopes=["billing:read", "billing:write"])
    issue(member_user, workspace, "r", scopes=["billing:read"], kind=TokenKind.PERSONAL)
    with pytest.raises(ValidationError) as raised:
        issue(member_user, workspace, "w", scopes=["billing:write"], kind=TokenKind.PERSONAL)
    assert raised.value.message_dict["scopes"] == ["Beyond what you may grant: billing:write."]


def test_another_workspace_does_not_know_them(billing, outsider, other_workspace):
    with pytest.raises(ValidationError) as raised:
        issue(outsider, other_workspace, "x", scopes=["billing:read"])
    assert raised.value.message_dict["scopes"] == ["Unknown scope: billing:read."]


def test_the_api_creates_tokens_for_a_service(workspace, admin_user, billing, client):
    creator = issue(admin_user, workspace, "creator", scopes=["tokens:write", "billing:read"])[1]
    response = client.post(
        "/api/v1/tokens",
        {"name": "svc", "scopes": ["billing:read"]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {creator}"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == ["billing:read"]


def test_a_demoted_member_keeps_the_service_scopes_the_new_role_may_grant(
    workspace, billing, admin_user, manager_user
):
    token, _ = issue(
        manager_user, workspace, "mine", scopes=["billing:read"], kind=TokenKind.PERSONAL
    )
    membership = Membership.objects.get(user=manager_user, workspace=workspace)
    membership_change_role(membership=membership, role=Role.MEMBER, actor=admin_user)
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(
    ("scopes", "codes"),
    [
        (["billing:write"], {"scopes": ["scope_not_allowed"]}),  # beyond the creator's own
        (["ghost:read"], {"scopes": ["unknown_scope"]}),  # no such service here
        # Neither a scope of the settings nor a service scope's shape: each says why.
        (["billing:admin"], {"scopes.0": ["invalid_choice", "invalid"]}),
    ],
)
def test_the_api_refuses_service_scopes_with_a_field_code(
    workspace, admin_user, billing, client, scopes, codes
):
    creator = issue(admin_user, workspace, "creator", scopes=["tokens:write", "billing:read"])[1]
    response = client.post(
        "/api/v1/tokens",
        {"name": "svc", "scopes": scopes},
        content_type="application/json",
        headers={"Authorization": f"Bearer {creator}"},
    )
    assert response.status_code == 400, response.content
    assert response.json()["field_codes"] == codes


def test_once_a_service_is_deleted_the_api_calls_its_scopes_unknown(
    workspace, admin_user, admin_actor, billing, client
):
    from gateway import services

    creator = issue(admin_user, workspace, "creator", scopes=["tokens:write", "billing:read"])[1]
    services.service_delete(actor=admin_actor, service=billing)
    created = client.post(
        "/api/v1/tokens",
        {"name": "svc", "scopes": ["billing:read"]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {creator}"},
    )
    assert created.json()["field_codes"] == {"scopes": ["unknown_scope"]}
