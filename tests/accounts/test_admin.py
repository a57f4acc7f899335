"""The Django admin for operators: every accounts model loads, and the audit log is read-only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import audit_record
from accounts.models import AuditEvent, Membership, User
from tests.conftest import PASSWORD
from tests.factories import issue, signed_in
from tokens.models import Token, TokenKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(workspace, admin_user) -> AuditEvent:
    return audit_record(
        action="workspace.created", actor=admin_user, workspace=workspace, target=workspace
    )


@pytest.fixture
def populated(admin_user, member_user, outsider, invitation, event):
    """Create users, two workspaces, memberships, an invitation and audit events."""


CHANGELISTS = ["user", "workspace", "invitation", "auditevent"]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_operator_can_load_each_changelist(operator_client, populated, model):
    response = operator_client.get(reverse(f"admin:accounts_{model}_changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", CHANGELISTS)
def test_operator_can_search_each_changelist(operator_client, populated, model):
    response = operator_client.get(reverse(f"admin:accounts_{model}_changelist"), {"q": "acme"})

    assert response.status_code == 200


def test_user_changelist_lists_users(operator_client, populated):
    content = operator_client.get(reverse("admin:accounts_user_changelist")).content.decode()

    assert "admin@example.com" in content
    assert "outsider@example.com" in content


def test_operator_can_open_a_user(operator_client, member_user):
    response = operator_client.get(reverse("admin:accounts_user_change", args=[member_user.pk]))

    assert response.status_code == 200
    assert "member@example.com" in response.content.decode()


def test_operator_can_open_a_workspace_with_its_members(operator_client, populated, workspace):
    response = operator_client.get(reverse("admin:accounts_workspace_change", args=[workspace.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "member@example.com" in content


def test_operator_can_open_an_invitation_without_seeing_its_key(
    operator_client, populated, invitation
):
    url = reverse("admin:accounts_invitation_change", args=[invitation.pk])

    response = operator_client.get(url)

    assert response.status_code == 200
    assert invitation.key not in response.content.decode()


def test_operator_can_open_the_add_user_form(operator_client):
    assert operator_client.get(reverse("admin:accounts_user_add")).status_code == 200


def test_operator_can_add_a_user_whose_email_is_stored_lowercased(operator_client):
    response = operator_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Person@Example.com",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    assert User.objects.get(email="new.person@example.com").check_password(PASSWORD)


def test_audit_event_admin_offers_no_add(operator_client, event):
    changelist = operator_client.get(reverse("admin:accounts_auditevent_changelist"))

    assert reverse("admin:accounts_auditevent_add") not in changelist.content.decode()
    assert operator_client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert AuditEvent.objects.count() == 1


def test_audit_event_admin_offers_no_bulk_delete(operator_client, event):
    changelist = operator_client.get(reverse("admin:accounts_auditevent_changelist"))

    assert "delete_selected" not in changelist.content.decode()


def test_audit_event_admin_shows_an_event_read_only(operator_client, event):
    response = operator_client.get(reverse("admin:accounts_auditevent_change", args=[event.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "workspace.created" in content
    assert 'name="_save"' not in content
    assert 'name="action"' not in content


def test_audit_event_admin_refuses_a_change(operator_client, event):
    response = operator_client.post(
        reverse("admin:accounts_auditevent_change", args=[event.pk]),
        {"action": "forged", "actor_label": "nobody"},
    )

    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "workspace.created"


def test_audit_event_admin_refuses_a_delete(operator_client, event):
    url = reverse("admin:accounts_auditevent_delete", args=[event.pk])

    assert operator_client.get(url).status_code == 403
    assert operator_client.post(url, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_event_admin_refuses_a_bulk_delete_action(operator_client, event):
    response = operator_client.post(
        reverse("admin:accounts_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert response.status_code in {200, 302}
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_workspace_admins_who_are_not_operators_cannot_enter_the_admin(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# Membership changes made by operators go through the services ---------------------


def _inline_post(workspace, rows, *, name=None):
    """Return the POST data of the workspace change form with membership rows.

    The policies are posted as they are, as the browser sends the form's initial values.
    """
    data = {
        "name": name or workspace.name,
        "slug": workspace.slug,
        "two_factor_policy": workspace.two_factor_policy,
        "sso_jit_role": "member",
        "sso_jit_domains": "",
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(sum(1 for r in rows if r.get("id"))),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"memberships-{i}-{key}"] = value
        data[f"memberships-{i}-workspace"] = str(workspace.pk)
    return data


def _rows(workspace, **changes):
    rows = []
    for membership in workspace.memberships.order_by("pk"):
        row = {"id": str(membership.pk), "user": str(membership.user_id), "role": membership.role}
        row |= changes.get(membership.user.email, {})
        rows.append(row)
    return rows


def test_operator_role_change_in_admin_is_audited(
    operator_client, workspace, admin_user, member_user
):
    url = f"/admin/accounts/workspace/{workspace.pk}/change/"
    data = _inline_post(workspace, _rows(workspace, **{member_user.email: {"role": "manager"}}))

    response = operator_client.post(url, data)

    assert response.status_code == 302
    assert Membership.objects.get(user=member_user).role == "manager"
    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.actor_label == "operator@example.com"
    assert event.details["to"] == "manager"


def test_operator_cannot_demote_the_last_admin_in_admin(operator_client, workspace, admin_user):
    url = f"/admin/accounts/workspace/{workspace.pk}/change/"
    data = _inline_post(workspace, _rows(workspace, **{admin_user.email: {"role": "member"}}))

    response = operator_client.post(url, data, follow=True)

    assert Membership.objects.get(user=admin_user).role == "admin"
    assert "last Admin" in response.content.decode()
    assert not AuditEvent.objects.filter(action="member.role_changed").exists()


def test_operator_removal_and_addition_in_admin_go_through_services(
    operator_client, workspace, admin_user, member_user, outsider
):
    url = f"/admin/accounts/workspace/{workspace.pk}/change/"
    rows = _rows(workspace, **{member_user.email: {"DELETE": "on"}})
    rows.append({"user": str(outsider.pk), "role": "manager"})

    operator_client.post(url, _inline_post(workspace, rows))

    assert not Membership.objects.filter(user=member_user, workspace=workspace).exists()
    assert Membership.objects.get(user=outsider, workspace=workspace).role == "manager"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"member.removed", "member.added"} <= actions


def test_operator_workspace_rename_in_admin_is_audited(operator_client, workspace, admin_user):
    url = f"/admin/accounts/workspace/{workspace.pk}/change/"

    operator_client.post(url, _inline_post(workspace, _rows(workspace), name="Acme Corp"))

    workspace.refresh_from_db()
    assert workspace.name == "Acme Corp"
    assert AuditEvent.objects.get(action="workspace.changed").details == {"name": "Acme Corp"}


def test_deactivating_a_user_in_admin_revokes_their_personal_tokens_in_api_and_console(
    operator_client, workspace, admin_user, member_user
):
    personal, _ = issue(member_user, workspace, kind=TokenKind.PERSONAL)
    _, reader = issue(admin_user, workspace, name="reader", scopes=["tokens:read"])
    url = reverse("admin:accounts_user_change", args=[member_user.pk])
    data = {"email": member_user.email, "full_name": "", "is_staff": "", "is_superuser": ""}
    data |= {"passkeys-TOTAL_FORMS": "0", "passkeys-INITIAL_FORMS": "0"}

    response = operator_client.post(url, data)  # is_active left unticked

    assert response.status_code == 302
    member_user.refresh_from_db()
    assert not member_user.is_active
    revoked = AuditEvent.objects.get(action="token.revoked", target_id=personal.public_id)
    assert revoked.actor_label == "operator@example.com"
    assert revoked.details["reason"] == "owner_deactivated"
    listed = Client().get(
        "/api/v1/tokens", {"status": "all"}, headers={"Authorization": f"Bearer {reader}"}
    )
    [item] = [item for item in listed.json() if item["id"] == personal.public_id]
    assert (item["status"], item["revoke_reason"]) == ("revoked", "owner_deactivated")
    tokens_tab = reverse("tokens:list", kwargs={"slug": workspace.slug})
    page = signed_in(admin_user).get(tokens_tab, {"status": "revoked"}).content.decode()
    assert personal.public_id in page
    assert "Owner&#x27;s account was deactivated" in page

    member_user.is_active = True
    member_user.save()
    assert Token.objects.get(pk=personal.pk).status() == "revoked"
