"""Hold a sign-in between the password and the second factor.

After a right password, a user with a second factor is remembered in the
session (nobody is logged in yet) for PENDING_SECONDS; the factor's page then
completes the sign-in. The remembered state carries the user's session auth
hash, so a password changed meanwhile ends it.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import User

SESSION_KEY = "keyward_pending_sign_in"
PENDING_SECONDS = 5 * 60


def begin(request: HttpRequest, user: User, backend: str) -> None:
    """Remember that `user` gave a right password through `backend`; log nobody in.

    The session gets a new key first, so a session id planted before the
    password cannot be the one that carries the half-signed-in state.
    """
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "user": user.pk,
        "backend": backend,
        "at": time.time(),
        "auth_hash": user.get_session_auth_hash(),
    }


def pending_user(request: HttpRequest) -> User | None:
    """Return the user waiting to give a second factor, or None (never began, or expired)."""
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict):
        return None
    fresh = 0 <= time.time() - state.get("at", 0) < PENDING_SECONDS
    user = User.objects.filter(pk=state.get("user"), is_active=True).first() if fresh else None
    if (
        user is None
        or state.get("backend") not in settings.AUTHENTICATION_BACKENDS
        or user.get_session_auth_hash() != state.get("auth_hash")
    ):
        clear(request)
        return None
    return user


def clear(request: HttpRequest) -> None:
    """Forget a pending sign-in."""
    request.session.pop(SESSION_KEY, None)


def complete(request: HttpRequest, user: User, *, method: str) -> None:
    """Log `user` in through the remembered backend (a new session key) and audit the method."""
    backend = request.session[SESSION_KEY]["backend"]
    clear(request)
    login(request, user, backend=backend)
    audit_record(
        action="signin.two_factor", actor=user, request=request, details={"method": method}
    )
