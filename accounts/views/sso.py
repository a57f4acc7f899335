"""Single sign-on: start the OpenID Connect sign-in, take the issuer's answer back."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from accounts import signin_limit
from accounts.audit import audit_record
from accounts.shared_cache import SharedCacheUnavailable
from accounts.signin import oidc_config, sso_logout, sso_reauth
from accounts.signin.oidc import SsoRefused, record_refusal

# The session key where the package keeps each started sign-in's nonce and PKCE verifier.
STATES_KEY = "oidc_states"
NEXT_KEY = "oidc_login_next"


def login_url_with(reason: str) -> str:
    """Return the login page's URL that explains a refused single sign-on."""
    return f"{reverse('accounts:login')}?{urlencode({'sso': reason})}"


def _refuse(request: HttpRequest, refused: SsoRefused, **details) -> HttpResponse:
    """Audit and count a refusal that never reached `authenticate`; back to the login page."""
    record_refusal(request, refused, **details)
    user_login_failed.send(sender=__name__, credentials={}, request=request)
    return HttpResponseRedirect(login_url_with(refused.reason))


class SsoLoginView(OIDCAuthenticationRequestView):
    """Send the browser to the issuer, with a new state, nonce and PKCE challenge."""

    get_settings = staticmethod(oidc_config.library_setting)
    OIDC_OP_AUTH_ENDPOINT = property(
        lambda self: self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
    )
    OIDC_RP_CLIENT_ID = property(lambda self: self.get_settings("OIDC_RP_CLIENT_ID"))

    def __init__(self, **kwargs) -> None:
        # Not the package's __init__: it reads the issuer's endpoints before the view runs.
        View.__init__(self, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_config.is_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except oidc_config.ProviderUnavailable:
            return _refuse(request, SsoRefused("provider_unreachable"))


sso_login = never_cache(SsoLoginView.as_view())


def _provider_error(value: str) -> str:
    """Return the issuer's error code as far as it is one (RFC 6749 4.1.2.1), for the audit."""
    return re.sub(r"[^a-z_]", "", value.lower())[:64]


def _limit_reason(request: HttpRequest) -> str:
    """Return why `authenticate` refused before any backend ran: the limit or its cache."""
    try:
        signin_limit.retry_after(request, None)
    except SharedCacheUnavailable:
        return "unavailable"
    return "rate_limited"


@never_cache
@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    """Take the issuer's answer: check the state, then sign in whom the backend accepts."""
    if not oidc_config.is_enabled():
        raise Http404("Single sign-on is not configured.")
    states = request.session.get(STATES_KEY)
    state = request.GET.get("state", "")
    started = states.pop(state, None) if isinstance(states, dict) else None
    request.session.modified = True  # a state is used once, even by a refused answer
    if sso_reauth.is_pending(request, state):  # a confirmation of sudo mode, not a sign-in
        return sso_reauth.finish(request, started)
    if request.GET.get("error"):
        return _refuse(
            request, SsoRefused("provider_error"), error=_provider_error(request.GET["error"])
        )
    if started is None or not request.GET.get("code"):
        return _refuse(request, SsoRefused("state_mismatch"))
    next_url = request.session.get(NEXT_KEY) or resolve_url(settings.LOGIN_REDIRECT_URL)
    user = auth.authenticate(
        request,
        oidc_nonce=started.get("nonce"),
        oidc_code_verifier=started.get("code_verifier"),
    )
    if user is None:
        refused = getattr(request, "sso_refused", None)
        if refused is None:
            refused = SsoRefused(_limit_reason(request))
            record_refusal(request, refused)
        return HttpResponseRedirect(login_url_with(refused.reason))
    # Always a new login, even for the user already signed in: the session then
    # records that it went through SSO (accounts.signin.sso.signed_in_with_sso).
    auth.login(request, user)
    sso_logout.id_token_keep(request)
    audit_record(action="signin.sso", actor=user, request=request, details={"email": user.email})
    return HttpResponseRedirect(next_url)
