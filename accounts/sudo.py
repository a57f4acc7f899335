"""Sudo mode: confirm it is you again before a sensitive action, at most every few minutes.

A successful confirmation stamps the session; the stamp lasts
KEYWARD_SUDO_SECONDS. The password is checked through Django's `authenticate`,
so wrong ones count towards the sign-in limits and the prompt cannot be used
to guess a password. A user with an authenticator app may give a code from it
instead, checked under the same limits (accounts.signin.factors); one with a
passkey may use it (accounts.views.passkeys.passkey_sudo); one without a
password (made by single sign-on) may sign in with SSO again
(accounts.views.sso_reauth). Every view asks through `prompt`, and every page
shows the prompt with components/sudo_prompt.html.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import signin_limit
from accounts.audit import audit_record
from accounts.signin import factors, oidc_config
from accounts.signin.factor_forms import code_field

SESSION_KEY = "keyward_sudo_at"


def is_active(request: HttpRequest) -> bool:
    """Return whether the user confirmed their password recently enough."""
    stamp = request.session.get(SESSION_KEY)
    return isinstance(stamp, (int, float)) and 0 <= time.time() - stamp < (
        settings.KEYWARD_SUDO_SECONDS
    )


def grant(request: HttpRequest, *, method: str, target=None) -> None:
    """Stamp the session as confirmed now by `method` (password, totp, passkey, sso); audit it."""
    request.session[SESSION_KEY] = time.time()
    audit_record(
        action="sudo.confirmed",
        actor=request.user,
        target=target,
        request=request,
        details={"method": method},
    )


def prompt(
    request: HttpRequest, *, bind: bool = True, return_to: str | None = None, **form_kwargs
) -> SudoForm | None:
    """Return None if sudo mode is on, else the prompt to show (a SudoForm).

    A POST that answers the prompt rightly starts sudo mode here (and gets
    None); a wrong answer comes back as the bound form with its errors.
    `bind=False` never reads the POST (a page with two forms asks for one).
    `return_to` is where a round trip to the SSO provider comes back to.
    """
    if is_active(request):
        return None
    answered = bind and request.method == "POST" and SudoForm.submitted(request.POST)
    form = SudoForm(
        request.POST if answered else None, request=request, return_to=return_to, **form_kwargs
    )
    if form.is_valid():
        form.confirm()
        return None
    return form


def _return_to(request: HttpRequest) -> str:
    """Return the page this request was made from, on this site: a GET's own address otherwise."""
    current = getattr(getattr(request, "htmx", None), "current_url_abs_path", None)
    if current and url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()}):
        return current
    return request.get_full_path() if request.method == "GET" else request.path


class SudoForm(forms.Form):
    """Confirm the signed-in user's password, or a code from their authenticator app.

    Refuse while they fail too often. The code field exists only for a user
    with an app, the password field only for a user who has a password; either
    field confirms, the code if both are filled. The prompt also offers what is
    not a field: a passkey (`has_passkey`) and an SSO round trip (`sso_url`).
    """

    password = forms.CharField(
        label="Your password",
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = code_field("Or a code from your authenticator app")

    error_messages = {
        "rate_limited": signin_limit.WAIT_MESSAGE,
        "unavailable": signin_limit.UNAVAILABLE_MESSAGE,
        "wrong_password": "This is not your password.",
        "required": "Enter your password.",
        "code_required": "Enter a code from your authenticator app.",
        "no_field": "Confirm with one of the ways offered below.",
    }

    def __init__(self, *args, request: HttpRequest, return_to: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        user = request.user
        available = factors.methods(user)
        self.has_passkey = factors.PASSKEY in available
        self.has_password = user.has_usable_password()
        self.fields["code"].required = False
        if factors.TOTP not in available:
            del self.fields["code"]
        if not self.has_password:
            del self.fields["password"]
        if list(self.fields) == ["password"]:
            self.fields["password"].required = True  # the only field: not "(optional)"
            self.fields["password"].error_messages["required"] = self.error_messages["required"]
        # Without a password, the provider that made the account confirms it is them.
        self.sso_url = None
        if not self.has_password and oidc_config.is_enabled():
            target = return_to or _return_to(request)
            self.sso_url = f"{reverse('accounts:sso_reauth')}?{urlencode({'next': target})}"
        self.provider = oidc_config.provider_name()

    @property
    def title(self) -> str:
        """Return the prompt's heading: it asks for more than a password when other ways will do."""
        if list(self.fields) == ["password"] and not self.has_passkey:
            return "Confirm your password"
        return "Confirm it is you"

    @staticmethod
    def submitted(data) -> bool:
        """Return whether `data` is this form's submission (not the request that opens it)."""
        return "password" in data or "code" in data

    def clean(self):
        cleaned = super().clean()
        code, password = cleaned.get("code"), cleaned.get("password")
        if code:
            refused = factors.check_code(
                self.request, self.request.user, code, method=factors.TOTP, purpose="sudo"
            )
            if refused:
                self.add_error("code", forms.ValidationError(factors.REFUSALS[refused]))
            else:
                cleaned["method"] = factors.TOTP
        elif password:
            refused = signin_limit.confirm_password(self.request, self.request.user, password)
            if refused:
                self.add_error("password", forms.ValidationError(self.error_messages[refused]))
            else:
                cleaned["method"] = "password"
        elif "password" in self.fields:
            if "password" not in self.errors:  # a required password already says so
                self.add_error("password", forms.ValidationError(self.error_messages["required"]))
        elif "code" in self.fields:
            self.add_error("code", forms.ValidationError(self.error_messages["code_required"]))
        else:
            raise forms.ValidationError(self.error_messages["no_field"], code="no_field")
        return cleaned

    def confirm(self) -> None:
        """Start sudo mode for this session (call once the form is valid)."""
        grant(self.request, method=self.cleaned_data["method"])
