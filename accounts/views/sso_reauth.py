"""Sudo mode through single sign-on: send an account without a password to sign in again."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from accounts.signin import oidc_config
from accounts.signin import sso_reauth as reauth
from accounts.views.sso import SsoLoginView


class SsoReauthView(SsoLoginView):
    """Send the signed-in user to the provider for a new sign-in (prompt=login, max_age=0)."""

    def get_extra_params(self, request: HttpRequest) -> dict:
        return {**super().get_extra_params(request), **reauth.EXTRA_PARAMS}

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_config.is_enabled():
            raise Http404("Single sign-on is not configured.")
        response = super().get(request)
        if response.status_code == 302 and "state=" in response["Location"]:
            reauth.begin(request, response["Location"], _safe_next(request))
        return response


def _safe_next(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return resolve_url("accounts:security")


sso_reauth = never_cache(login_required(SsoReauthView.as_view()))
