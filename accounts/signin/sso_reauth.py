"""Confirm it is you (sudo mode) by signing in with the SSO provider again.

For accounts without a password (single sign-on made them): the sudo prompt
sends them to the provider with `prompt=login` and `max_age=0`, so the
provider asks them to sign in again rather than answering from its session.
The answer comes back to the sign-in callback, which hands it here when its
state is the one this session started for a confirmation. It grants sudo mode
only when the provider's verified email is the signed-in user's, and, when the
ID token says when they signed in (`auth_time`), only if that was after the
confirmation started. Nobody is signed in, created or given a membership here.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import signin_limit, sudo
from accounts.models.users import normalize_email
from accounts.shared_cache import SharedCacheUnavailable
from accounts.signin import oidc_config
from accounts.signin.oidc import (
    LEEWAY_SECONDS,
    REFUSAL_MESSAGES,
    SingleSignOnBackend,
    SsoRefused,
    _email_verified,
    record_refusal,
)

SESSION_KEY = "keyward_sso_reauth"
# Ask the provider for a new sign-in, not its session's (OpenID Connect Core 3.1.2.1).
EXTRA_PARAMS = {"prompt": "login", "max_age": "0"}
MESSAGES = {
    **REFUSAL_MESSAGES,
    "other_user": "Your single sign-on provider signed in someone else, so Keyward did not "
    "confirm it is you. Sign in there as yourself, then try again.",
    "stale_login": "Your single sign-on provider did not ask you to sign in again, so Keyward "
    "could not confirm it is you. Try again.",
}


def begin(request: HttpRequest, provider_url: str, next_url: str) -> None:
    """Remember that the sign-in sent to `provider_url` confirms the signed-in user."""
    state = parse_qs(urlsplit(provider_url).query).get("state", [""])[0]
    request.session[SESSION_KEY] = {
        "state": state,
        "user": request.user.pk,
        "at": time.time(),
        "next": next_url,
    }


def is_pending(request: HttpRequest, state: str) -> bool:
    """Return whether the provider's answer with `state` is a confirmation this session began."""
    pending = request.session.get(SESSION_KEY)
    return isinstance(pending, dict) and bool(state) and pending.get("state") == state


class ConfirmationBackend(SingleSignOnBackend):
    """Check the provider's answer as a sign-in does; accept only the signed-in user, freshly."""

    def __init__(self, *, user, started_at: float) -> None:
        super().__init__()
        self.user, self.started_at = user, started_at

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise SsoRefused("no_email", user=self.user)
        if not _email_verified(claims):
            raise SsoRefused("email_unverified", email=email, user=self.user)
        if normalize_email(email) != self.user.email:
            raise SsoRefused("other_user", email=self.user.email, user=self.user)
        auth_time = payload.get("auth_time")
        if auth_time is not None and not (
            isinstance(auth_time, (int, float)) and auth_time >= self.started_at - LEEWAY_SECONDS
        ):
            raise SsoRefused("stale_login", email=self.user.email, user=self.user)
        return self.user


def finish(request: HttpRequest, started: dict | None) -> HttpResponse:
    """Take the provider's answer to a confirmation: sudo mode on, back to the page; or refuse."""
    pending = request.session.pop(SESSION_KEY)
    next_url = pending.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    user = request.user
    refused = _refusal(request, pending, started)
    if refused is None:
        backend = ConfirmationBackend(user=user, started_at=pending["at"])
        confirmed = backend.authenticate(
            request,
            oidc_nonce=started.get("nonce"),
            oidc_code_verifier=started.get("code_verifier"),
        )
        if confirmed is not None:
            sudo.grant(request, method="sso")
            messages.success(request, f"Confirmed with {oidc_config.provider_name()}.")
            return HttpResponseRedirect(next_url)
        reason = getattr(getattr(request, "sso_refused", None), "reason", "provider_error")
    else:
        record_refusal(request, refused, purpose="sudo")
        reason = refused.reason
    messages.error(request, MESSAGES.get(reason, MESSAGES["provider_error"]))
    return HttpResponseRedirect(next_url)


def _refusal(request: HttpRequest, pending: dict, started: dict | None) -> SsoRefused | None:
    """Return why the answer cannot confirm anyone before the provider is asked, or None."""
    user = request.user
    if not user.is_authenticated or pending.get("user") != user.pk:
        return SsoRefused("other_user")
    if request.GET.get("error"):
        return SsoRefused("provider_error", user=user)
    if started is None or not request.GET.get("code"):
        return SsoRefused("state_mismatch", user=user)
    try:
        if signin_limit.retry_after(request, user.get_username()):
            return SsoRefused("rate_limited", user=user)
    except SharedCacheUnavailable:
        return SsoRefused("unavailable", user=user)
    return None
