"""Database constraints and model behaviour of the accounts app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, Invitation, Membership, User, Workspace
from accounts.models.audit import AuditLogIsAppendOnly
from accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


# Users -------------------------------------------------------------------------


def test_create_user_stores_email_lowercased_and_trimmed():
    user = User.objects.create_user("  Ada.Lovelace@Example.COM ", PASSWORD)

    user.refresh_from_db()
    assert user.email == "ada.lovelace@example.com"


def test_database_refuses_an_uppercase_email():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="Ada@Example.com")


def test_email_is_unique_whatever_the_case_typed():
    User.objects.create_user("ada@example.com", PASSWORD)

    with pytest.raises(ValidationError, match="already exists"):
        User.objects.create_user("ADA@example.com", PASSWORD)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="ada@example.com")
    assert User.objects.count() == 1


def test_sign_in_with_email_in_any_case():
    user = User.objects.create_user("ada@example.com", PASSWORD)

    assert authenticate(username="  ADA@Example.com", password=PASSWORD) == user


def test_display_name_falls_back_to_email():
    assert User(email="ada@example.com").display_name == "ada@example.com"
    assert User(email="ada@example.com", full_name="Ada").display_name == "Ada"


# Memberships --------------------------------------------------------------------


def test_one_membership_per_user_and_workspace(admin_user, workspace):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=admin_user, workspace=workspace, role=Role.MEMBER)

    assert Membership.objects.filter(user=admin_user, workspace=workspace).count() == 1


def test_same_user_may_join_several_workspaces(admin_user, other_workspace):
    Membership.objects.create(user=admin_user, workspace=other_workspace, role=Role.MEMBER)

    assert admin_user.memberships.count() == 2


def test_database_refuses_an_unknown_membership_role(workspace):
    user = User.objects.create_user("ada@example.com", PASSWORD)

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, workspace=workspace, role="owner")

    assert not Membership.objects.filter(user=user).exists()


def test_database_refuses_changing_a_membership_to_an_unknown_role(member_user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=member_user).update(role="superadmin")

    assert Membership.objects.get(user=member_user).role == Role.MEMBER


def test_roles_are_ranked_admin_over_manager_over_member():
    assert Role.ADMIN.at_least(Role.MANAGER)
    assert Role.MANAGER.at_least(Role.MEMBER)
    assert Role.MANAGER.at_least(Role.MANAGER)
    assert not Role.MEMBER.at_least(Role.MANAGER)
    assert not Role.MANAGER.at_least(Role.ADMIN)


# Invitations --------------------------------------------------------------------


def _invite(workspace, email="new@example.com", **fields) -> Invitation:
    return Invitation.objects.create(workspace=workspace, email=email, **fields)


def test_one_pending_invitation_per_email_and_workspace(workspace):
    _invite(workspace)

    with pytest.raises(IntegrityError), transaction.atomic():
        _invite(workspace)

    assert Invitation.objects.count() == 1


def test_same_email_may_be_invited_to_another_workspace(workspace, other_workspace):
    _invite(workspace)
    _invite(other_workspace)

    assert Invitation.objects.count() == 2


@pytest.mark.parametrize("closed_field", ["accepted_at", "cancelled_at"])
def test_a_closed_invitation_does_not_block_a_new_one(workspace, closed_field):
    _invite(workspace, **{closed_field: timezone.now()})

    _invite(workspace)

    assert Invitation.objects.pending().count() == 1


def test_database_refuses_an_unknown_invitation_role(workspace):
    with pytest.raises(IntegrityError), transaction.atomic():
        _invite(workspace, role="owner")


def test_each_invitation_gets_its_own_random_key(workspace, other_workspace):
    first, second = _invite(workspace), _invite(other_workspace)

    assert len(first.key) >= 32
    assert first.key != second.key


def test_invitation_expires_after_the_configured_days(workspace, settings):
    settings.KEYWARD_INVITATION_MAX_AGE_DAYS = 7
    fresh = _invite(workspace, sent_at=timezone.now() - timedelta(days=6, hours=23))
    stale = _invite(workspace, email="old@example.com", sent_at=timezone.now() - timedelta(days=7))

    assert not fresh.is_expired
    assert stale.is_expired


def test_pending_excludes_accepted_and_cancelled(workspace):
    pending = _invite(workspace, email="a@example.com")
    _invite(workspace, email="b@example.com", accepted_at=timezone.now())
    _invite(workspace, email="c@example.com", cancelled_at=timezone.now())

    assert list(Invitation.objects.pending()) == [pending]
    assert pending.is_pending


# Audit log ----------------------------------------------------------------------


@pytest.fixture
def event(workspace, admin_user) -> AuditEvent:
    return audit_record(
        action="workspace.created", actor=admin_user, workspace=workspace, target=workspace
    )


def test_audit_record_names_actor_and_target(event, admin_user, workspace):
    event.refresh_from_db()
    assert event.actor_user == admin_user
    assert event.actor_label == "admin@example.com"
    assert event.target_type == "workspace"
    assert event.target_id == str(workspace.pk)
    assert event.target_label == "Acme"


def test_audit_record_puts_an_event_in_its_targets_workspace(workspace, admin_user):
    membership = Membership.objects.get(workspace=workspace, user=admin_user)
    other = Workspace.objects.create(name="Other", slug="other")

    about_membership = audit_record(action="member.added", actor=admin_user, target=membership)
    about_workspace = audit_record(action="workspace.created", actor=admin_user, target=workspace)
    told = audit_record(action="x.y", actor=admin_user, workspace=other, target=membership)
    without_target = audit_record(action="sudo.confirmed", actor=admin_user)

    assert about_membership.workspace == workspace
    assert about_workspace.workspace == workspace
    assert told.workspace == other
    assert without_target.workspace is None


def test_audit_event_cannot_be_changed_with_save(event):
    event.action = "workspace.deleted"

    with pytest.raises(AuditLogIsAppendOnly):
        event.save()

    assert AuditEvent.objects.get(pk=event.pk).action == "workspace.created"


def test_audit_event_cannot_be_changed_with_save_update_fields(event):
    event.action = "workspace.deleted"

    with pytest.raises(AuditLogIsAppendOnly):
        event.save(update_fields=["action"])

    assert AuditEvent.objects.get(pk=event.pk).action == "workspace.created"


def test_audit_event_cannot_be_deleted(event):
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_events_cannot_be_updated_through_a_queryset(event):
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="workspace.deleted")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.update(action="workspace.deleted")

    assert AuditEvent.objects.get(pk=event.pk).action == "workspace.created"


def test_audit_events_cannot_be_bulk_updated(event):
    event.action = "workspace.deleted"

    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.bulk_update([event], ["action"])

    assert AuditEvent.objects.get(pk=event.pk).action == "workspace.created"


def test_audit_events_cannot_be_deleted_through_a_queryset(event):
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_event_with_an_existing_primary_key_is_not_overwritten(event):
    copy = AuditEvent(pk=event.pk, action="forged")

    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()

    assert AuditEvent.objects.get(pk=event.pk).action == "workspace.created"


def test_deleting_a_workspace_keeps_its_audit_history(event, workspace):
    with pytest.raises(ProtectedError), transaction.atomic():
        workspace.delete()

    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_an_actor_keeps_the_audit_history(event, admin_user):
    with pytest.raises(ProtectedError), transaction.atomic():
        admin_user.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()
