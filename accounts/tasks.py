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


# Security notices: what changed in how the account signs in (accounts.signin.factors).
SECURITY_NOTICES = {
    "totp_added": "An authenticator app was set up as a second factor",
    "totp_removed": "The authenticator app was removed from your sign-in",
    "recovery_codes_regenerated": "New recovery codes were made; the old ones no longer work",
    "new_browser": "Your account signed in from a new browser",
    "two_factor_reset": "An operator turned off two-factor authentication for your account",
}


@task
def email_security_notice(
    user_id: int, notice: str, base_url: str, details: dict[str, str] | None = None
) -> int:
    """Email `user_id` what happened to their sign-in (`notice`, a SECURITY_NOTICES key); return 1.

    `details` (where from: address, browser, time) are shown as they are.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or notice not in SECURITY_NOTICES:
        logger.info("No security notice %r for user %s; not emailed.", notice, user_id)
        return 0
    context = {
        "what": SECURITY_NOTICES[notice],
        "details": details or {},
        "security_url": absolute_url(reverse("accounts:security"), base_url),
        "reset_url": absolute_url(reverse("accounts:password_reset"), base_url),
    }
    what = f"email security notice {notice} to user {user.pk}"
    return send_each([Email(what, [user.email], "security_notice", context)])


@task
def email_sign_in_factor_changed(user_id: int, change: str, factor: str, base_url: str) -> int:
    """Tell a user that a way to sign in was `change`d ("added", "removed"); return 1 if sent.

    `factor` names it in words (a passkey "YubiKey"); sent even if the user was
    deactivated meanwhile, since the change happened.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return 0
    context = {
        "email": user.email,
        "change": change,
        "factor": factor,
        "security_url": absolute_url(reverse("accounts:passkey_list"), base_url),
        "reset_url": absolute_url(reverse("accounts:password_reset"), base_url),
    }
    what = f"email user {user.pk} that a sign-in factor was {change}"
    return send_each([Email(what, [user.email], "sign_in_factor_changed", context)])
