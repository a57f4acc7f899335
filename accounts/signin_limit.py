"""Limit failed sign-ins per account and per client IP, for every way to sign in.

The limit sits on Django's `authenticate` path, so the console, the admin and
any backend added later (passkeys, SSO) share one pair of counters:
`SignInLimitBackend`, first in AUTHENTICATION_BACKENDS, refuses before any
backend checks a credential; `user_login_failed` counts each failure; a
successful sign-in clears the account's count.

While the shared cache is down nobody signs in: without its counts the limit
cannot hold, so the forms say to try again shortly (`UNAVAILABLE_MESSAGE`).
"""

from __future__ import annotations

import contextlib

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.http import limit_key
from accounts.models.users import normalize_email
from accounts.ratelimit import FailureLimiter
from accounts.shared_cache import SharedCacheUnavailable

# What a password prompt of a signed-in user says while the limit refuses.
WAIT_MESSAGE = "Too many wrong passwords. Wait a few minutes, then try again."
# What every password form says while the shared cache (the limit's counts) is down.
UNAVAILABLE_MESSAGE = "Passwords cannot be checked for a moment. Try again shortly."


def login_limiters() -> tuple[FailureLimiter, FailureLimiter]:
    """Return the failed-login limiters per account and per client IP."""
    window = settings.KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS
    return (
        FailureLimiter(
            "login-account", limit=settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT, window=window
        ),
        FailureLimiter("login-ip", limit=settings.KEYWARD_LOGIN_FAILURES_PER_IP, window=window),
    )


def _username(credentials: dict):
    """Return the account named by `authenticate`'s credentials, as ModelBackend reads them."""
    return credentials.get("username") or credentials.get(get_user_model().USERNAME_FIELD)


def _identities(request: HttpRequest | None, username) -> tuple[str | None, str | None]:
    """Return the account and address a sign-in attempt counts against (None: not known)."""
    account = normalize_email(username) if isinstance(username, str) and username else None
    return account, limit_key(request)


def retry_after(request: HttpRequest | None, username) -> int:
    """Return the seconds before `username` may try to sign in from `request`'s address.

    Raises SharedCacheUnavailable while the counts cannot be read.
    """
    account, address = _identities(request, username)
    by_account, by_ip = login_limiters()
    return max(
        by_account.retry_after(account) if account else 0,
        by_ip.retry_after(address) if address else 0,
    )


def confirm_password(request: HttpRequest | None, user, password: str) -> str | None:
    """Check the signed-in `user`'s password under the limit; return why it fails, or None.

    Goes through `authenticate`, so a wrong password counts like a failed sign-in
    and a password prompt cannot be used to guess past the limit. "unavailable":
    the shared cache is down, so no password is checked.
    """
    username = user.get_username()
    try:
        if retry_after(request, username):
            return "rate_limited"
    except SharedCacheUnavailable:
        return "unavailable"
    confirmed = authenticate(request, username=username, password=password)
    if confirmed is None or confirmed.pk != user.pk:
        return "wrong_password"
    return None


class SignInLimitBackend:
    """Refuse every authentication while the account or address is over its limit.

    Listed first in AUTHENTICATION_BACKENDS, so it runs before the backends that
    check credentials; it never authenticates anyone itself. No `get_user`: Django
    must never pick it as the backend of a session.
    """

    def authenticate(self, request: HttpRequest | None, **credentials):
        try:
            refused = retry_after(request, _username(credentials))
        except SharedCacheUnavailable:
            refused = True  # no sign-in without the limit
        if refused:
            raise PermissionDenied  # stops Django from asking the other backends
        return None

    async def aauthenticate(self, request: HttpRequest | None, **credentials):
        return await sync_to_async(self.authenticate)(request, **credentials)


@receiver(user_login_failed, dispatch_uid="keyward-sign-in-limit-failure")
def _count_failure(sender, credentials: dict, request: HttpRequest | None = None, **kwargs):
    account, address = _identities(request, _username(credentials))
    by_account, by_ip = login_limiters()
    # Down: only SignInLimitBackend's refusal gets here, and no password was checked.
    with contextlib.suppress(SharedCacheUnavailable):
        if account:
            by_account.record_failure(account)
        if address:
            by_ip.record_failure(address)


@receiver(user_logged_in, dispatch_uid="keyward-sign-in-limit-success")
def _clear_account(sender, request: HttpRequest | None, user, **kwargs):
    by_account, _ = login_limiters()
    # Down: a sign-in without a password (sign-up); the count ends with its window.
    with contextlib.suppress(SharedCacheUnavailable):
        by_account.reset(normalize_email(user.get_username()))
