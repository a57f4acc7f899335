"""Tasks of the accounts app: the emails that carry a link to act on (invitations, resets).

The link is made when the email is sent, never stored in the task queue: it
grants access, and a link made when the task is queued could be stale by then.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.tasks import task
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.emails import Email, absolute_url, send_each
from accounts.invitation_links import invitation_link_token
from accounts.models import Invitation, User

logger = logging.getLogger("keyward.accounts.tasks")


@task
def email_invitation(invitation_id: int, base_url: str) -> int:
    """Email a pending invitation's signed link (for its current key); return 1 if sent.

    An invitation cancelled or accepted while its email waited is not sent.
    """
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.is_pending:
        logger.info("Invitation %s is no longer pending; not emailed.", invitation_id)
        return 0
    path = reverse("accounts:invitation_accept", args=[invitation_link_token(invitation)])
    context = {
        "invitation": invitation,
        "accept_url": absolute_url(path, base_url),
        "max_age_days": settings.KEYWARD_INVITATION_MAX_AGE_DAYS,
    }
    return send_each(
        [Email(f"email invitation {invitation.pk}", [invitation.email], "invitation", context)]
    )


@task
def email_password_reset(user_id: int, base_url: str) -> int:
    """Email a password reset link to an active user with a password; return 1 if sent."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        logger.info("User %s may not reset a password now; not emailed.", user_id)
        return 0
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)},
    )
    context = {"email": user.email, "reset_url": absolute_url(path, base_url)}
    what = f"email a password reset link to user {user.pk}"
    return send_each([Email(what, [user.email], "password_reset", context)])


# Security emails: what changed in how the account signs in (accounts.security_emails). Each
# kind has its templates, emails/security/<kind>.txt (subject first) and .html.
SECURITY_EVENTS = frozenset(
    {
        "factor_added",
        "factor_removed",
        "recovery_codes_regenerated",
        "new_browser",
        "password_changed",
        "two_factor_reset",
    }
)
# What an email may show of the event; anything else in `details` is dropped.
SECURITY_DETAILS = ("at", "ip", "agent", "factor", "name", "operator")


@task
def email_security_event(
    user_id: int, event: str, base_url: str, details: dict[str, str] | None = None
) -> int:
    """Email `user_id` what happened to their sign-in (`event`, a SECURITY_EVENTS kind).

    `details` (when, address, browser, which factor) are shown as they are.
    Sent even if the user was deactivated meanwhile, since the change happened.
    Return 1 if sent.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None or event not in SECURITY_EVENTS:
        logger.info("No security email %r for user %s; not emailed.", event, user_id)
        return 0
    details = details or {}
    context = {
        "email": user.email,
        **{key: str(details[key]) for key in SECURITY_DETAILS if details.get(key)},
        "security_url": absolute_url(reverse("accounts:security"), base_url),
        "reset_url": absolute_url(reverse("accounts:password_reset"), base_url),
    }
    what = f"email security event {event} to user {user.pk}"
    return send_each([Email(what, [user.email], f"security/{event}", context)])
