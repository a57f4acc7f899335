"""Tell a user when their account signs in from a browser it has not signed in from before.

A browser that signed in is marked with a long-lived signed cookie naming the
accounts it knows (the ids only, signed so a cookie cannot be made up); a
sign-in without that mark emails the user, with the address and browser, and
writes an audit event. Clearing cookies makes a known browser new again: one
extra email, never a missed one.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from accounts.audit import audit_record
from accounts.models import User
from accounts.security_emails import security_email

COOKIE = "keyward_known_browser"
SALT = "keyward.accounts.signin.browsers"
MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
MAX_ACCOUNTS = 10


def known_accounts(request: HttpRequest) -> list[int]:
    """Return the ids of the accounts this browser signed in to before (none if unsigned)."""
    try:
        ids = signing.loads(request.COOKIES.get(COOKIE, ""), salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return []
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def remember(request: HttpRequest, response: HttpResponse, user: User) -> None:
    """Mark this browser as known to `user` on `response` (kept for MAX_AGE)."""
    ids = [user.pk, *(i for i in known_accounts(request) if i != user.pk)][:MAX_ACCOUNTS]
    response.set_cookie(
        COOKIE,
        signing.dumps(ids, salt=SALT),
        max_age=MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def note_sign_in(request: HttpRequest, response: HttpResponse, user: User) -> None:
    """After `user` signed in: email and audit if this browser is new to them; mark it known."""
    if user.pk not in known_accounts(request):
        audit_record(action="signin.new_browser", actor=user, request=request)
        security_email(user=user, event="new_browser", request=request)
    remember(request, response, user)
