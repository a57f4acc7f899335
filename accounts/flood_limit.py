"""Limit the emails and accounts one client can make Keyward send or create.

A password reset, an invitation and its resend each email an address that did
not ask for it; a sign-up creates an account. Without a limit a script floods a
mailbox, the outgoing mail server or the user table. Each is counted with the
sign-in limit's `FailureLimiter`: emails per target address and per client IP,
sign-ups per client IP, in one window. While the shared cache that holds the
counts is down, nothing is sent or created: the form says to try again shortly.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.http import limit_key
from accounts.models.users import normalize_email
from accounts.ratelimit import FailureLimiter, wait_minutes
from accounts.shared_cache import SharedCacheUnavailable

EMAIL_UNAVAILABLE = "Emails cannot be sent for a moment. Try again shortly."


def _limiter(scope: str, limit: int) -> FailureLimiter:
    return FailureLimiter(scope, limit=limit, window=settings.KEYWARD_EMAIL_LIMIT_WINDOW_SECONDS)


def _take(counts: list[tuple[FailureLimiter, str | None]]) -> int:
    """Count one attempt on every limiter, or none if one is over; return the wait."""
    counts = [(limiter, identity) for limiter, identity in counts if identity]
    wait = max((limiter.retry_after(identity) for limiter, identity in counts), default=0)
    if not wait:
        for limiter, identity in counts:
            limiter.record_failure(identity)
    return wait


def wait_message(wait: int, why: str) -> str:
    """Say `why` the request is refused, and how long to wait."""
    return f"{why} Try again in {wait_minutes(wait)} minute(s)."


def take_email(request: HttpRequest | None, email: str) -> int:
    """Count one email to `email` asked for from `request`'s address; return the wait, or 0.

    Over either limit nothing is counted and no email may be sent. Raises
    SharedCacheUnavailable while the counts cannot be read.
    """
    return _take(
        [
            (_limiter("email-to", settings.KEYWARD_EMAILS_PER_ADDRESS), normalize_email(email)),
            (_limiter("email-ip", settings.KEYWARD_EMAILS_PER_IP), limit_key(request)),
        ]
    )


def refuse_email_flood(request: HttpRequest | None, email: str, *, field: str | None = None):
    """Count one email to `email`, or raise ValidationError (`rate_limited`) over the limit."""
    try:
        wait = take_email(request, email)
    except SharedCacheUnavailable:
        message = EMAIL_UNAVAILABLE
        raise ValidationError({field: message} if field else message, code="unavailable") from None
    if wait:
        why = f"Too many emails to {normalize_email(email)} or from your address."
        message = wait_message(wait, why)
        raise ValidationError({field: message} if field else message, code="rate_limited")


def refuse_signup_flood(request: HttpRequest | None) -> None:
    """Count one sign-up from `request`'s address, or raise ValidationError over the limit."""
    try:
        wait = _take([(_limiter("signup-ip", settings.KEYWARD_SIGNUPS_PER_IP), limit_key(request))])
    except SharedCacheUnavailable:
        raise ValidationError(
            "Sign-ups are unavailable for a moment. Try again shortly.", code="unavailable"
        ) from None
    if wait:
        raise ValidationError(
            wait_message(wait, "Too many sign-ups from your address."), code="rate_limited"
        )
