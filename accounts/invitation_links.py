"""Make and check the signed, single-use links sent with invitations."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.conf import settings
from django.core import signing

from accounts.models import Invitation

SALT = "keyward.accounts.invitation"


class InvitationLinkError(Exception):
    """The link cannot be used; the message says why in words for the user."""


def invitation_link_token(invitation: Invitation) -> str:
    """Return the signed token that names `invitation` in its link."""
    return signing.dumps({"id": invitation.pk, "key": invitation.key}, salt=SALT)


def invitation_from_link_token(token: str) -> Invitation:
    """Return the pending invitation that `token` names, or raise InvitationLinkError."""
    max_age = timedelta(days=settings.KEYWARD_INVITATION_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise InvitationLinkError(
            "This invitation has expired. Ask a workspace Admin to send a new one."
        ) from None
    except signing.BadSignature:
        raise InvitationLinkError("This invitation link is not valid.") from None
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(pk=payload.get("id"))
        .first()
    )
    if invitation is None or not hmac.compare_digest(invitation.key, str(payload.get("key"))):
        raise InvitationLinkError(
            "This invitation link is no longer valid. A newer one may have been sent."
        )
    if invitation.accepted_at is not None:
        raise InvitationLinkError("This invitation has already been used.")
    if invitation.cancelled_at is not None:
        raise InvitationLinkError("This invitation was cancelled.")
    if invitation.is_expired:
        raise InvitationLinkError(
            "This invitation has expired. Ask a workspace Admin to send a new one."
        )
    return invitation
