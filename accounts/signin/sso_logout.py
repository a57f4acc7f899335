"""Sign out at the single sign-on provider too (OpenID Connect RP-Initiated Logout 1.0).

When a session signed in through SSO signs out, Keyward ends its own session
first, then sends the browser to the provider's `end_session_endpoint` (from
its discovery document) with `id_token_hint`, `client_id` and
`post_logout_redirect_uri` (Keyward's login page), so that the next "Sign in
with SSO" asks the provider again. The ID token of the sign-in is kept for this
in the session (server-side, sealed like the authenticator keys); it reaches
the browser only in that last redirect. A provider without the endpoint, or a
discovery document that cannot be read, ends Keyward's session only.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.signin import oidc_config, sealing, sso

logger = logging.getLogger(__name__)

# The session key of the sealed ID token.
SESSION_KEY = "keyward_sso_id_token"
# Where the backend leaves the ID token for the view: login() may start a new session.
REQUEST_ATTRIBUTE = "sso_id_token"


def id_token_keep(request: HttpRequest) -> None:
    """Keep the ID token of the SSO sign-in that just happened in the session, sealed."""
    id_token = getattr(request, REQUEST_ATTRIBUTE, None)
    if isinstance(id_token, str) and id_token:
        request.session[SESSION_KEY] = sealing.seal(id_token.encode())


def _id_token(request: HttpRequest) -> str | None:
    sealed = request.session.get(SESSION_KEY)
    if not isinstance(sealed, str):
        return None
    try:
        return sealing.unseal(sealed).decode()
    except sealing.Unsealable:
        return None


def _endpoint() -> str | None:
    """Return the provider's end_session_endpoint, or None without one (or without discovery)."""
    try:
        endpoint = oidc_config.discovery().get("end_session_endpoint")
    except oidc_config.ProviderUnavailable as error:
        logger.warning("single sign-on logout at the provider skipped: %s", error)
        return None
    if not isinstance(endpoint, str) or urlsplit(endpoint).scheme not in ("https", "http"):
        return None
    return endpoint


def end_session_url(request: HttpRequest) -> str | None:
    """Return where to send the browser once this session is signed out, or None.

    Ask it before signing out: the session holds the ID token. None unless the
    session signed in through SSO and the provider has an end_session_endpoint.
    """
    if not oidc_config.is_enabled() or not sso.signed_in_with_sso(request):
        return None
    id_token = _id_token(request)
    endpoint = _endpoint() if id_token else None
    if endpoint is None:
        return None
    parts = urlsplit(endpoint)
    query = [
        *parse_qsl(parts.query),
        ("id_token_hint", id_token),
        ("post_logout_redirect_uri", request.build_absolute_uri(reverse("accounts:login"))),
        ("client_id", settings.KEYWARD_OIDC_CLIENT_ID),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))
