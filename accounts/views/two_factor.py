"""Sign in with a second factor: the password step hands over to a code step.

The console's login and the Django admin's both use TwoFactorLoginMixin: a
right password from a user with a second factor logs nobody in, it starts a
pending sign-in (accounts.signin.pending) that the code page completes. Each
finished sign-in is checked for a new browser (accounts.signin.browsers).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts.forms import AdminLoginForm, LoginForm
from accounts.signin import browsers, factors, passkeys, pending
from accounts.signin.factor_forms import FactorCodeForm


class TwoFactorLoginMixin:
    """Stop after the password for users with a second factor; send them to the code step."""

    def form_valid(self, form):
        user = form.get_user()
        if not factors.has_two_factor(user):
            response = super().form_valid(form)
            browsers.note_sign_in(self.request, response, user)
            return response
        pending.begin(self.request, user, backend=user.backend)
        query = urlencode({REDIRECT_FIELD_NAME: self.get_success_url()})
        return redirect(f"{reverse('accounts:security_two_factor')}?{query}")


class LoginView(TwoFactorLoginMixin, auth_views.LoginView):
    """Sign in to the console."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        # The options for the email field's passkey suggestions come with the page: a
        # request for them as it loads would write the session while the person may
        # already be starting another sign-in (SSO's state), and the last write wins.
        options, ticket = passkeys.suggestion_options(self.request)
        return {
            **super().get_context_data(**kwargs),
            "passkey_suggestions": json.dumps(options),
            "passkey_ticket": ticket,
        }


class AdminLoginView(TwoFactorLoginMixin, auth_views.LoginView):
    """Sign operators in to /admin/, as admin.site.login does, with the code step."""

    authentication_form = AdminLoginForm
    template_name = "admin/login.html"


def admin_login(request: HttpRequest) -> HttpResponse:
    """Show the admin's login page (AdminSite.login's context) through AdminLoginView."""
    site = admin.site
    redirect_url = auth_views.LoginView().get_redirect_url(request) or reverse(
        "admin:index", current_app=site.name
    )
    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(redirect_url)
    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        REDIRECT_FIELD_NAME: redirect_url,
    }
    request.current_app = site.name
    return AdminLoginView.as_view(extra_context=context)(request)


def _safe_next(request: HttpRequest) -> str:
    """Return the `next` address asked for if it is on this site, else the default."""
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@never_cache
@sensitive_post_parameters("code")
def two_factor(request: HttpRequest) -> HttpResponse:
    """Ask the user who gave a right password for a code, then sign them in."""
    user = pending.pending_user(request)
    if user is None:
        messages.info(request, "Sign in again: the code step lasts five minutes.")
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': _safe_next(request)})}")
    available = factors.methods(user)
    if not available:  # the factors went meanwhile: the password alone signs in again
        pending.clear(request)
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': _safe_next(request)})}")
    wanted = request.POST.get("method") or request.GET.get("method")
    method = wanted if wanted in available else available[0]
    form = None
    if method != factors.PASSKEY:  # a passkey answers through passkey_two_factor (JSON)
        form = FactorCodeForm(
            request.POST if request.method == "POST" else None,
            request=request,
            user=user,
            method=method,
            purpose="sign_in",
        )
    if request.method == "POST" and form is not None and form.is_valid():
        pending.complete(request, user, method=method)
        response = redirect(_safe_next(request))
        browsers.note_sign_in(request, response, user)
        return response
    context = {
        "form": form,
        "method": method,
        "next": _safe_next(request),
        "other_methods": [other for other in available if other != method],
    }
    return render(request, "registration/two_factor.html", context)
