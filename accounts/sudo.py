"""Sudo mode: ask for the password again before a sensitive action, at most every few minutes.

A successful confirmation stamps the session; the stamp lasts
KEYWARD_SUDO_SECONDS. The password is checked through Django's `authenticate`,
so wrong ones count towards the sign-in limits and the prompt cannot be used
to guess a password. A user with an authenticator app may give a code from it
instead, checked under the same limits (accounts.signin.factors).
"""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.http import HttpRequest

from accounts import signin_limit
from accounts.audit import audit_record
from accounts.signin import factors
from accounts.signin.factor_forms import code_field

SESSION_KEY = "keyward_sudo_at"


def is_active(request: HttpRequest) -> bool:
    """Return whether the user confirmed their password recently enough."""
    stamp = request.session.get(SESSION_KEY)
    return isinstance(stamp, (int, float)) and 0 <= time.time() - stamp < (
        settings.KEYWARD_SUDO_SECONDS
    )


def grant(request: HttpRequest) -> None:
    """Stamp the session as confirmed now."""
    request.session[SESSION_KEY] = time.time()


class SudoForm(forms.Form):
    """Confirm the signed-in user's password, or a code from their authenticator app.

    Refuse while they fail too often. The code field exists only for a user
    with an app; either field confirms, the code if both are filled.
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
    }

    def __init__(self, *args, request: HttpRequest, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.fields["code"].required = False
        if factors.TOTP not in factors.methods(request.user):
            del self.fields["code"]
            self.fields["password"].required = True  # the only way: not "(optional)"
            self.fields["password"].error_messages["required"] = self.error_messages["required"]

    @property
    def title(self) -> str:
        """Return the prompt's heading: it asks for more than a password when a code will do."""
        return "Confirm it is you" if "code" in self.fields else "Confirm your password"

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
        elif "password" not in self.errors:  # a required password already says so
            self.add_error("password", forms.ValidationError(self.error_messages["required"]))
        return cleaned

    def confirm(self) -> None:
        """Start sudo mode for this session (call once the form is valid)."""
        grant(self.request)
        audit_record(
            action="sudo.confirmed",
            actor=self.request.user,
            request=self.request,
            details={"method": self.cleaned_data["method"]},
        )
