"""Sudo mode: ask for the password again before a sensitive action, at most every few minutes.

A successful confirmation stamps the session; the stamp lasts
KEYWARD_SUDO_SECONDS. Wrong passwords count towards the same per-account
limit as sign-in, so the prompt cannot be used to guess a password.
"""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models.users import normalize_email
from accounts.signin_limit import login_limiters

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
    """Confirm the signed-in user's password; refuse while they fail too often."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request: HttpRequest, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        account_limiter, _ = login_limiters()
        identity = normalize_email(user.email)
        if account_limiter.retry_after(identity):
            raise forms.ValidationError(
                "Too many wrong passwords. Wait a few minutes, then try again.",
                code="rate_limited",
            )
        if not user.check_password(password):
            account_limiter.record_failure(identity)
            raise forms.ValidationError("This is not your password.", code="wrong_password")
        account_limiter.reset(identity)
        return password

    def confirm(self) -> None:
        """Start sudo mode for this session (call once the form is valid)."""
        grant(self.request)
        audit_record(action="sudo.confirmed", actor=self.request.user, request=self.request)
