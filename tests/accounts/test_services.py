"""The accounts services: each action's effects, its audit events, and what it refuses."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import resolve
from django.utils import timezone

from accounts import services
from accounts.invitation_links import invitation_from_link_token
from accounts.models import AuditEvent, Invitation, Membership, User, Workspace
from accounts.roles import Role
from tests.conftest import PASSWORD, make_member

pytestmark = pytest.mark.django_db


def _actions(workspace=None) -> list[str]:
    events = AuditEvent.objects.order_by("id")
    if workspace is not None:
        events = events.filter(workspace=workspace)
    return list(events.values_list("action", flat=True))


def _link_in(message) -> str:
    """Return the invitation link in an email's text."""
    match = re.search(r"https?://\S+/invitations/\S+/", message.body)
    assert match, message.body
    return match.group(0)


def _state() -> tuple:
    """Return a snapshot of everything the member services may change."""
    return (
        list(Membership.objects.order_by("id").values_list("id", "user_id", "role")),
        list(Invitation.objects.order_by("id").values_list("id", "key", "sent_at", "cancelled_at")),
        AuditEvent.objects.count(),
        len(mail.outbox),
    )


# Sign-up and workspaces ---------------------------------------------------------


def test_signup_creates_user_workspace_and_admin_membership(db):
    user, workspace = services.user_signup(
        email=" Ada@Example.com ", password=PASSWORD, full_name=" Ada ", workspace_name="Initech"
    )

    assert user.email == "ada@example.com"
    assert user.full_name == "Ada"
    assert user.check_password(PASSWORD)
    assert workspace.name == "Initech"
    assert workspace.slug == "initech"
    membership = Membership.objects.get(user=user)
    assert membership.workspace == workspace
    assert membership.role == Role.ADMIN


def test_signup_writes_audit_events(db):
    user, workspace = services.user_signup(
        email="ada@example.com", password=PASSWORD, workspace_name="Initech"
    )

    assert _actions(workspace) == ["workspace.created", "member.added"]
    added = AuditEvent.objects.get(action="member.added")
    assert added.actor_user == user
    assert added.details == {"email": "ada@example.com", "role": "admin"}


def test_signup_without_a_workspace_name_creates_no_workspace(db):
    user, workspace = services.user_signup(email="ada@example.com", password=PASSWORD)

    assert workspace is None
    assert not Workspace.objects.exists()
    assert not user.memberships.exists()


def test_signup_with_a_taken_email_is_refused_and_changes_nothing(admin_user):
    before = (User.objects.count(), Workspace.objects.count(), AuditEvent.objects.count())

    with pytest.raises(ValidationError) as caught:
        services.user_signup(email="ADMIN@example.com", password="x", workspace_name="Dupe")

    assert "email" in caught.value.message_dict
    assert (User.objects.count(), Workspace.objects.count(), AuditEvent.objects.count()) == before


def test_workspace_slugs_stay_unique(workspace, admin_user):
    second = services.workspace_create(name="Acme", creator=admin_user)
    third = services.workspace_create(name="ACME!", creator=admin_user)

    assert {workspace.slug, second.slug, third.slug} == {"acme", "acme-2", "acme-3"}


def test_workspace_needs_a_name(admin_user):
    with pytest.raises(ValidationError) as caught:
        services.workspace_create(name="   ", creator=admin_user)

    assert "name" in caught.value.message_dict
    assert Workspace.objects.count() == 1


# Invitations ---------------------------------------------------------------------


def test_invite_creates_a_pending_invitation_and_an_audit_event(workspace, admin_user):
    invitation = services.invitation_create(
        workspace=workspace, actor=admin_user, email="  New@Example.COM ", role="manager"
    )

    assert invitation.email == "new@example.com"
    assert invitation.role == Role.MANAGER
    assert invitation.invited_by == admin_user
    assert invitation.is_pending
    event = AuditEvent.objects.get(action="invitation.created")
    assert event.workspace == workspace
    assert event.actor_user == admin_user
    assert event.details == {"email": "new@example.com", "role": "manager"}


def test_invite_emails_a_link_that_opens_the_invitation(invitation):
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"]
    assert "Acme" in message.subject
    link = _link_in(message)
    assert link in message.alternatives[0].content
    token = resolve(urlsplit(link).path).kwargs["token"]
    assert invitation_from_link_token(token) == invitation


def test_inviting_an_email_with_a_pending_invitation_changes_nothing(invitation, admin_user):
    before = _state()

    with pytest.raises(ValidationError) as caught:
        services.invitation_create(
            workspace=invitation.workspace, actor=admin_user, email="NEW@example.com", role="admin"
        )

    assert "pending invitation" in caught.value.message_dict["email"][0]
    assert _state() == before


def test_inviting_a_member_changes_nothing(workspace, admin_user, member_user):
    before = _state()

    with pytest.raises(ValidationError) as caught:
        services.invitation_create(
            workspace=workspace, actor=admin_user, email="Member@Example.com", role="member"
        )

    assert "already a member" in caught.value.message_dict["email"][0]
    assert _state() == before


def test_a_member_elsewhere_can_be_invited(workspace, admin_user, outsider):
    invitation = services.invitation_create(
        workspace=workspace, actor=admin_user, email=outsider.email, role="member"
    )

    assert invitation.is_pending


def test_invite_with_an_unknown_role_is_refused(workspace, admin_user):
    before = _state()

    with pytest.raises(ValidationError) as caught:
        services.invitation_create(
            workspace=workspace, actor=admin_user, email="new@example.com", role="owner"
        )

    assert "role" in caught.value.message_dict
    assert _state() == before


def test_accept_makes_the_invitee_a_member_with_the_invited_role(workspace, admin_user):
    invitation = services.invitation_create(
        workspace=workspace, actor=admin_user, email="new@example.com", role="manager"
    )
    user = User.objects.create_user("new@example.com", PASSWORD)

    membership = services.invitation_accept(invitation=invitation, user=user)

    assert (membership.user, membership.workspace, membership.role) == (user, workspace, "manager")
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None
    event = AuditEvent.objects.get(action="invitation.accepted")
    assert event.actor_user == user
    assert event.workspace == workspace


def test_accept_twice_is_refused(invitation):
    user = User.objects.create_user("new@example.com", PASSWORD)
    services.invitation_accept(invitation=invitation, user=user)

    with pytest.raises(ValidationError) as caught:
        services.invitation_accept(invitation=invitation, user=user)

    assert caught.value.code == "not_pending"
    assert Membership.objects.filter(user=user).count() == 1


def test_accept_after_expiry_is_refused(invitation, settings):
    user = User.objects.create_user("new@example.com", PASSWORD)
    old = timezone.now() - timedelta(days=settings.KEYWARD_INVITATION_MAX_AGE_DAYS + 1)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=old)

    with pytest.raises(ValidationError) as caught:
        services.invitation_accept(invitation=invitation, user=user)

    assert caught.value.code == "expired"
    assert not Membership.objects.filter(user=user).exists()


def test_accept_of_a_cancelled_invitation_is_refused(invitation, admin_user):
    user = User.objects.create_user("new@example.com", PASSWORD)
    services.invitation_cancel(invitation=invitation, actor=admin_user)

    with pytest.raises(ValidationError):
        services.invitation_accept(invitation=invitation, user=user)

    assert not Membership.objects.filter(user=user).exists()


def test_accept_by_someone_already_a_member_is_refused(workspace, admin_user, member_user):
    # The invitation was sent before they joined some other way.
    invitation = Invitation.objects.create(
        workspace=workspace, email=member_user.email, invited_by=admin_user, role=Role.ADMIN
    )

    with pytest.raises(ValidationError) as caught:
        services.invitation_accept(invitation=invitation, user=member_user)

    assert caught.value.code == "duplicate"
    assert Membership.objects.get(user=member_user).role == Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_resend_sends_a_fresh_link_and_writes_an_audit_event(
    invitation, admin_user, django_capture_on_commit_callbacks
):
    old_key, old_sent = invitation.key, invitation.sent_at

    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(invitation=invitation, actor=admin_user)

    invitation.refresh_from_db()
    assert invitation.key != old_key
    assert invitation.sent_at > old_sent
    assert len(mail.outbox) == 2
    assert _link_in(mail.outbox[1]) != _link_in(mail.outbox[0])
    assert _actions()[-1] == "invitation.resent"


def test_cancel_closes_the_invitation_and_writes_an_audit_event(invitation, admin_user):
    services.invitation_cancel(invitation=invitation, actor=admin_user)

    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None
    assert not invitation.is_pending
    event = AuditEvent.objects.get(action="invitation.cancelled")
    assert event.actor_user == admin_user
    assert event.details == {"email": "new@example.com"}


@pytest.mark.parametrize("action", [services.invitation_resend, services.invitation_cancel])
def test_resend_and_cancel_refuse_a_closed_invitation(invitation, admin_user, action):
    services.invitation_cancel(invitation=invitation, actor=admin_user)
    before = _state()

    with pytest.raises(ValidationError) as caught:
        action(invitation=invitation, actor=admin_user)

    assert caught.value.code == "not_pending"
    assert _state() == before


# Roles and removal --------------------------------------------------------------


def _membership(user) -> Membership:
    return Membership.objects.get(user=user)


def test_role_change_saves_audits_and_announces(admin_user, member_user, role_changed_signal):
    membership = _membership(member_user)

    services.membership_change_role(membership=membership, role="manager", actor=admin_user)

    assert _membership(member_user).role == Role.MANAGER
    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.actor_user == admin_user
    assert event.target_id == str(membership.pk)
    assert event.details == {"email": "member@example.com", "from": "member", "to": "manager"}
    [call] = role_changed_signal.calls
    assert call["membership"].pk == membership.pk
    assert call["membership"].role == Role.MANAGER
    assert call["old_role"] == Role.MEMBER
    assert call["actor"] == admin_user


def test_role_change_to_the_same_role_does_nothing(admin_user, member_user, role_changed_signal):
    before = _state()

    services.membership_change_role(
        membership=_membership(member_user), role="member", actor=admin_user
    )

    assert _state() == before
    assert role_changed_signal.calls == []


def test_role_change_to_an_unknown_role_is_refused(admin_user, member_user, role_changed_signal):
    before = _state()

    with pytest.raises(ValidationError) as caught:
        services.membership_change_role(
            membership=_membership(member_user), role="owner", actor=admin_user
        )

    assert "role" in caught.value.message_dict
    assert _state() == before
    assert role_changed_signal.calls == []


def test_last_admin_cannot_be_demoted(admin_user, manager_user, role_changed_signal):
    before = _state()

    with pytest.raises(ValidationError) as caught:
        services.membership_change_role(
            membership=_membership(admin_user), role="manager", actor=admin_user
        )

    assert caught.value.code == "last_admin"
    assert "last Admin" in caught.value.messages[0]
    assert _state() == before
    assert role_changed_signal.calls == []


def test_an_admin_can_be_demoted_while_another_admin_remains(admin_user, workspace):
    second = make_member(workspace, "second@example.com", Role.ADMIN)

    services.membership_change_role(membership=_membership(admin_user), role="member", actor=second)

    assert _membership(admin_user).role == Role.MEMBER
    assert list(Membership.objects.admins().values_list("user", flat=True)) == [second.pk]


def test_last_admin_check_counts_admins_of_this_workspace_only(admin_user, outsider):
    # outsider is Admin of another workspace; acme still has a single Admin.
    with pytest.raises(ValidationError):
        services.membership_change_role(
            membership=_membership(admin_user), role="member", actor=admin_user
        )

    assert _membership(admin_user).role == Role.ADMIN


def test_remove_deletes_audits_and_announces(admin_user, member_user, removed_signal):
    membership = _membership(member_user)

    services.membership_remove(membership=membership, actor=admin_user)

    assert not Membership.objects.filter(pk=membership.pk).exists()
    event = AuditEvent.objects.get(action="member.removed")
    assert event.actor_user == admin_user
    assert event.target_id == str(membership.pk)
    assert event.details == {"email": "member@example.com", "role": "member"}
    [call] = removed_signal.calls
    assert call["membership"].user == member_user
    assert call["membership"].workspace == membership.workspace
    assert call["actor"] == admin_user
    # The user keeps their account; only the membership goes.
    assert User.objects.filter(pk=member_user.pk).exists()


def test_last_admin_cannot_be_removed(admin_user, member_user, removed_signal):
    before = _state()

    with pytest.raises(ValidationError) as caught:
        services.membership_remove(membership=_membership(admin_user), actor=admin_user)

    assert caught.value.code == "last_admin"
    assert _state() == before
    assert removed_signal.calls == []


def test_an_admin_can_be_removed_while_another_admin_remains(admin_user, workspace):
    second = make_member(workspace, "second@example.com", Role.ADMIN)

    services.membership_remove(membership=_membership(admin_user), actor=second)

    assert list(Membership.objects.filter(workspace=workspace)) == [_membership(second)]


def test_remove_uses_the_current_role_not_a_stale_copy(admin_user, workspace):
    # A stale in-memory copy says Member, but the database says this is the last Admin.
    second = make_member(workspace, "second@example.com", Role.ADMIN)
    stale = _membership(second)
    stale.role = Role.MEMBER
    services.membership_remove(membership=_membership(admin_user), actor=second)

    with pytest.raises(ValidationError):
        services.membership_remove(membership=stale, actor=second)

    assert Membership.objects.filter(pk=stale.pk).exists()
