"""Forms that ask for a second factor: at sign-in, to set one up, to remove one."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest

from accounts import signin_limit
from accounts.models import User
from accounts.signin import factor_proof, factors


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


class RemoveFactorForm(forms.Form):
    """Confirm the removal of a factor: the password, and a current factor if it is the last one.

    The current factor is a code from the app or a recovery code (told apart by
    their shape), or a passkey the user gave just before (factor_proof). A user
    without a password confirmed sudo mode instead (the view asked), so the
    password field is only there for a user who has one. It offers what the
    sudo prompt's template shows (components/sudo_prompt.html).
    """

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = code_field("A code from the app, or a recovery code", numeric=False)
    sso_url = None
    provider = ""

    error_messages = {
        "factor_required": "Confirm with a passkey, or enter a code.",
    }

    def __init__(self, *args, request: HttpRequest, last_factor: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.last_factor = last_factor
        available = factors.methods(request.user) if last_factor else []
        self.has_password = request.user.has_usable_password()
        self.has_passkey = factors.PASSKEY in available
        if not self.has_password:
            del self.fields["password"]
        if not last_factor:
            del self.fields["code"]
        else:
            self.fields["code"].required = False  # a passkey may answer instead
            if factors.TOTP not in available:
                self.fields["code"].label = "A recovery code"

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        refused = signin_limit.confirm_password(self.request, self.request.user, password)
        if refused:
            messages = {**factors.REFUSALS, "wrong_password": "This is not your password."}
            raise forms.ValidationError(messages[refused], code=refused)
        return password

    def clean(self):
        cleaned = super().clean()
        if not self.last_factor or self.errors:
            # No factor check after a wrong password: one failure counted, not two.
            return cleaned
        code = cleaned.get("code")
        if code:
            method = factors.method_of(code)
            refused = factors.check_code(
                self.request, self.request.user, code, method=method, purpose="remove_factor"
            )
            if refused:
                self.add_error("code", forms.ValidationError(factors.REFUSALS[refused]))
        elif factor_proof.take(self.request) is None:
            self.add_error("code", forms.ValidationError(self.error_messages["factor_required"]))
        return cleaned
