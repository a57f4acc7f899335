"""Signed, single-use invitation links: what makes a link work and what makes it fail."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.invitation_links import (
    SALT,
    InvitationLinkError,
    invitation_from_link_token,
    invitation_link_token,
)
from accounts.models import Invitation, Membership, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

DAY = 24 * 60 * 60


@pytest.fixture
def token(invitation) -> str:
    return invitation_link_token(invitation)


@pytest.fixture
def invitee(db) -> User:
    return User.objects.create_user("new@example.com", PASSWORD)


def _travel(monkeypatch, seconds: float) -> None:
    """Move the clock that signing reads `seconds` into the future."""
    now = time.time()
    monkeypatch.setattr("django.core.signing.time.time", lambda: now + seconds)


def test_valid_link_names_its_invitation(invitation, token):
    assert invitation_from_link_token(token) == invitation


def test_link_signed_for_another_purpose_is_refused(invitation):
    # Same payload, signed with the right secret but another salt (as another feature would).
    other_purpose = signing.dumps({"id": invitation.pk, "key": invitation.key}, salt="other")

    with pytest.raises(InvitationLinkError, match="not valid"):
        invitation_from_link_token(other_purpose)


def test_link_still_works_just_before_it_expires(invitation, token, monkeypatch, settings):
    _travel(monkeypatch, settings.KEYWARD_INVITATION_MAX_AGE_DAYS * DAY - 60)

    assert invitation_from_link_token(token) == invitation


def test_link_expires_when_its_signature_is_too_old(token, monkeypatch, settings):
    _travel(monkeypatch, settings.KEYWARD_INVITATION_MAX_AGE_DAYS * DAY + 60)

    with pytest.raises(InvitationLinkError, match="expired"):
        invitation_from_link_token(token)


def test_link_expires_when_the_invitation_was_sent_too_long_ago(invitation, token, settings):
    # A freshly signed token for an invitation whose sending is older than the limit.
    sent = timezone.now() - timedelta(days=settings.KEYWARD_INVITATION_MAX_AGE_DAYS, minutes=1)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=sent)

    with pytest.raises(InvitationLinkError, match="expired"):
        invitation_from_link_token(token)


def test_accepted_link_cannot_be_used_again(invitation, token, invitee):
    services.invitation_accept(invitation=invitation, user=invitee)

    with pytest.raises(InvitationLinkError, match="already been used"):
        invitation_from_link_token(token)


def test_cancelled_link_stops_working(invitation, token, admin_user):
    services.invitation_cancel(invitation=invitation, actor=admin_user)

    with pytest.raises(InvitationLinkError, match="cancelled"):
        invitation_from_link_token(token)


@pytest.mark.parametrize("position", [0, 10, -1])
def test_tampered_link_is_refused(token, position):
    index = position % len(token)
    replacement = "A" if token[index] != "A" else "B"
    tampered = token[:index] + replacement + token[index + 1 :]

    with pytest.raises(InvitationLinkError, match="not valid"):
        invitation_from_link_token(tampered)


def test_link_for_another_invitation_id_is_refused(invitation, token):
    # Swapping the id in the payload breaks the signature.
    timestamp_and_signature = token.partition(":")[2]
    other = signing.dumps({"id": invitation.pk + 1, "key": invitation.key}, salt=SALT)
    forged = other.partition(":")[0] + ":" + timestamp_and_signature

    with pytest.raises(InvitationLinkError, match="not valid"):
        invitation_from_link_token(forged)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a:b:c", "x" * 500])
def test_garbage_is_refused(db, garbage):
    with pytest.raises(InvitationLinkError, match="not valid"):
        invitation_from_link_token(garbage)


def test_correctly_signed_link_with_the_wrong_key_is_refused(invitation):
    forged = signing.dumps({"id": invitation.pk, "key": "not-the-key"}, salt=SALT)

    with pytest.raises(InvitationLinkError, match="no longer valid"):
        invitation_from_link_token(forged)


def test_link_to_a_deleted_invitation_is_refused(invitation, token):
    invitation.delete()

    with pytest.raises(InvitationLinkError, match="no longer valid"):
        invitation_from_link_token(token)


def test_resending_supersedes_the_earlier_link(invitation, token, admin_user):
    services.invitation_resend(invitation=invitation, actor=admin_user)
    invitation.refresh_from_db()

    with pytest.raises(InvitationLinkError, match="newer one"):
        invitation_from_link_token(token)
    assert invitation_from_link_token(invitation_link_token(invitation)) == invitation


def test_resending_restarts_the_expiry(invitation, admin_user, settings):
    old = timezone.now() - timedelta(days=settings.KEYWARD_INVITATION_MAX_AGE_DAYS + 1)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=old)
    invitation.refresh_from_db()

    services.invitation_resend(invitation=invitation, actor=admin_user)

    assert invitation_from_link_token(invitation_link_token(invitation)) == invitation


def test_accepting_with_another_account_is_refused_and_changes_nothing(
    invitation, token, manager_user
):
    with pytest.raises(ValidationError) as caught:
        services.invitation_accept(invitation=invitation_from_link_token(token), user=manager_user)

    assert caught.value.code == "wrong_email"
    assert "new@example.com" in caught.value.messages[0]
    invitation.refresh_from_db()
    assert invitation.is_pending
    assert Membership.objects.filter(user=manager_user).count() == 1
    # The link still works for the person it was sent to.
    assert invitation_from_link_token(token) == invitation


def test_accepting_with_the_invited_email_in_another_case_works(invitation, db):
    # Emails are stored lower-cased, so the account of NEW@example.com is new@example.com.
    user = User.objects.create_user("NEW@Example.com", PASSWORD)

    membership = services.invitation_accept(invitation=invitation, user=user)

    assert membership.workspace == invitation.workspace
