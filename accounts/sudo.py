"""Sudo mode: ask for the password again before a sensitive action, at most every few minutes.

A successful confirmation stamps the session; the stamp lasts
KEYWARD_SUDO_SECONDS. The password is checked through Django's `authenticate`,
so wrong ones count towards the sign-in limits and the prompt cannot be used
to guess a password.
"""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.http import HttpRequest

from accounts import signin_limit
from accounts.audit import audit_record

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

    error_messages = {
        "rate_limited": signin_limit.WAIT_MESSAGE,
        "unavailable": signin_limit.UNAVAILABLE_MESSAGE,
        "wrong_password": "This is not your password.",
    }

    def __init__(self, *args, request: HttpRequest, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        refused = signin_limit.confirm_password(self.request, self.request.user, password)
        if refused:
            raise forms.ValidationError(self.error_messages[refused], code=refused)
        return password

    def confirm(self) -> None:
        """Start sudo mode for this session (call once the form is valid)."""
        grant(self.request)
        audit_record(action="sudo.confirmed", actor=self.request.user, request=self.request)
