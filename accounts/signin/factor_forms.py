"""Forms that ask for a second factor: at sign-in, to set one up, to remove one."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest

from accounts import signin_limit
from accounts.models import User
from accounts.signin import factors


def code_field(label: str, *, numeric: bool = True) -> forms.CharField:
    """Return a field for a one-time code, as phones and password managers expect it."""
    attrs = {"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
    if numeric:
        attrs |= {"inputmode": "numeric", "pattern": "[0-9 ]*"}
    return forms.CharField(label=label, max_length=32, widget=forms.TextInput(attrs=attrs))


class FactorCodeForm(forms.Form):
    """Check one code of `user` (an authenticator code or a recovery code) under the limits."""

    code = code_field("Authentication code")

    def __init__(self, *args, request: HttpRequest, user: User, method: str, purpose: str, **kw):
        super().__init__(*args, **kw)
        self.request, self.user, self.method, self.purpose = request, user, method, purpose
        if method == factors.RECOVERY_CODE:
            self.fields["code"] = code_field("Recovery code", numeric=False)
        self.fields["code"].widget.attrs["autofocus"] = True  # the page asks for nothing else

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        refused = factors.check_code(
            self.request, self.user, code, method=self.method, purpose=self.purpose
        )
        if refused:
            raise forms.ValidationError(factors.REFUSALS[refused], code=refused)
        return code


class TotpSetupForm(forms.Form):
    """Ask for the first code of a new authenticator (the service checks it)."""

    code = code_field("Code from the app")


class TotpRemoveForm(forms.Form):
    """Confirm the removal of the authenticator: the password, and a current factor if last.

    The factor is a code from the app or a recovery code, told apart by its shape.
    """

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = code_field("A code from the app, or a recovery code", numeric=False)

    def __init__(self, *args, request: HttpRequest, last_factor: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        if not last_factor:
            del self.fields["code"]

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        refused = signin_limit.confirm_password(self.request, self.request.user, password)
        if refused:
            messages = {**factors.REFUSALS, "wrong_password": "This is not your password."}
            raise forms.ValidationError(messages[refused], code=refused)
        return password

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if self.errors:  # no factor check after a wrong password: one failure counted, not two
            return code
        method = factors.method_of(code)
        refused = factors.check_code(
            self.request, self.request.user, code, method=method, purpose="remove_factor"
        )
        if refused:
            raise forms.ValidationError(factors.REFUSALS[refused], code=refused)
        return code
