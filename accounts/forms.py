"""Forms for signing in and up, workspaces, members and invitations."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts.http import client_ip
from accounts.models.users import normalize_email
from accounts.ratelimit import FailureLimiter
from accounts.roles import Role
from accounts.text import validate_name


def login_limiters() -> tuple[FailureLimiter, FailureLimiter]:
    """Return the failed-login limiters per account and per client IP."""
    window = settings.KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS
    return (
        FailureLimiter(
            "login-account", limit=settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT, window=window
        ),
        FailureLimiter("login-ip", limit=settings.KEYWARD_LOGIN_FAILURES_PER_IP, window=window),
    )


class LoginForm(AuthenticationForm):
    """Sign in with email and password, refusing callers who fail too often."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account.",
        "rate_limited": (
            "Too many failed sign-in attempts. Try again in %(minutes)s minute(s), "
            "or reset your password."
        ),
    }

    def clean(self):
        email = normalize_email(self.cleaned_data.get("username", ""))
        self.cleaned_data["username"] = email
        ip = client_ip(self.request) or "unknown"
        by_account, by_ip = login_limiters()
        wait = max(by_account.retry_after(email), by_ip.retry_after(ip))
        if wait:
            raise ValidationError(
                self.error_messages["rate_limited"],
                code="rate_limited",
                params={"minutes": -(-wait // 60)},
            )
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                by_account.record_failure(email)
                by_ip.record_failure(ip)
            raise
        by_account.reset(email)
        return cleaned


class PasswordPairMixin(forms.Form):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_password2(self) -> str:
        first, second = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if first and second and first != second:
            raise ValidationError("The two passwords do not match.", code="password_mismatch")
        return second

    def validate_password_for(self, **user_fields) -> None:
        """Run the password validators, putting their messages on password1."""
        from accounts.models import User

        password = self.cleaned_data.get("password1")
        if password:
            try:
                password_validation.validate_password(password, User(**user_fields))
            except ValidationError as error:
                self.add_error("password1", error)


class SignupForm(PasswordPairMixin):
    full_name = forms.CharField(
        max_length=150, required=False, label="Your name", validators=[validate_name]
    )
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    workspace_name = forms.CharField(
        max_length=100,
        label="Workspace name",
        validators=[validate_name],
        help_text="Your team or company. You can rename it later.",
    )
    field_order = ["full_name", "email", "password1", "password2", "workspace_name"]

    def clean(self):
        cleaned = super().clean()
        self.validate_password_for(
            email=normalize_email(cleaned.get("email", "")), full_name=cleaned.get("full_name", "")
        )
        return cleaned


class InvitationSignupForm(PasswordPairMixin):
    full_name = forms.CharField(
        max_length=150, required=False, label="Your name", validators=[validate_name]
    )
    field_order = ["full_name", "password1", "password2"]

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        self.validate_password_for(email=self.email, full_name=cleaned.get("full_name", ""))
        return cleaned


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=100, label="Workspace name", validators=[validate_name])


class InvitationForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
