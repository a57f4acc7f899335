"""The Django admin for operators: every accounts model loads, and the audit log is read-only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_superuser("operator@example.com", PASSWORD)


@pytest.fixture
def operator_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


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
