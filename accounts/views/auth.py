"""Sign in, sign up and sign out; password change and reset (Django's views) email the user."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts import services
from accounts.flood_limit import EMAIL_UNAVAILABLE, take_email, wait_message
from accounts.forms import PasswordChangeForm, PasswordResetForm, SignupForm
from accounts.security_emails import security_email
from accounts.shared_cache import SharedCacheUnavailable
from accounts.signin import browsers, oidc_config, sso_logout


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and its first workspace, then sign in."""
    if request.user.is_authenticated:
        return redirect("accounts:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, workspace = services.user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
                workspace_name=form.cleaned_data["workspace_name"],
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            response = redirect(workspace)
            browsers.remember(request, response, user)  # its first browser is not news to it
            return response
    return render(request, "registration/signup.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    """Email a reset link, at most as often as the email limit allows.

    The limit counts the address typed whether or not it has an account, so the
    answer never tells whether one exists. The email is a task (accounts.tasks).
    """

    form_class = PasswordResetForm

    def form_valid(self, form):
        try:
            wait = take_email(self.request, form.cleaned_data["email"])
        except SharedCacheUnavailable:
            form.add_error(None, EMAIL_UNAVAILABLE)
            return self.form_invalid(form)
        if wait:
            form.add_error(
                None, wait_message(wait, "Too many reset emails for this address or from yours.")
            )
            return self.form_invalid(form)
        return super().form_valid(form)


class PasswordChangedEmailMixin:
    """Email the user that their password was changed, once the new one is saved."""

    def form_valid(self, form):
        response = super().form_valid(form)
        security_email(user=form.user, event="password_changed", request=self.request)
        return response


class PasswordChangeView(PasswordChangedEmailMixin, auth_views.PasswordChangeView):
    """Change the signed-in user's password (the old one checked under the sign-in limit)."""

    form_class = PasswordChangeForm


class PasswordResetConfirmView(PasswordChangedEmailMixin, auth_views.PasswordResetConfirmView):
    """Set a new password from a reset link."""


def admin_password_change(request: HttpRequest) -> HttpResponse:
    """Run the admin's own password change; email the operator once it succeeded."""
    response = admin.site.password_change(request)
    if request.method == "POST" and response.status_code == 302:
        security_email(user=request.user, event="password_changed", request=request)
    return response


class SignOutView(auth_views.LogoutView):
    """Sign out (POST); a session signed in through SSO then signs out at the provider too."""

    def post(self, request, *args, **kwargs):
        provider_url = sso_logout.end_session_url(request)  # before the session ends
        response = super().post(request, *args, **kwargs)
        if provider_url is None:
            return response
        # A page, not a redirect: CSP's form-action 'self' would stop the sign-out form's
        # redirect to another origin; a meta refresh (and the link) is a plain navigation.
        return render(
            request,
            "registration/sso_logged_out.html",
            {"provider_url": provider_url, "provider_name": oidc_config.provider_name()},
        )
