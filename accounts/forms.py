"""Forms for signing in and up, workspaces, members and invitations."""

from __future__ import annotations

from django import forms
from django.contrib.admin import forms as admin_forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from accounts import signin_limit, tasks
from accounts.models import User, Workspace
from accounts.models.users import normalize_email
from accounts.roles import Role
from accounts.shared_cache import SharedCacheUnavailable
from accounts.side_effects import enqueue_after_commit
from accounts.signin.sso_enforcement import SsoRequiredMessageMixin
from accounts.text import text_form_field, validate_email_text


class SignInLimitMixin:
    """Say plainly when the sign-in limit refuses, before asking Django's `authenticate`.

    The limit itself is enforced by `SignInLimitBackend` for every caller of
    `authenticate`; this check only turns a refusal into a message.
    """

    rate_limited_message = (
        "Too many failed sign-in attempts. Try again in %(minutes)s minute(s), "
        "or reset your password."
    )

    def clean(self):
        email = normalize_email(self.cleaned_data.get("username", ""))
        self.cleaned_data["username"] = email
        try:
            wait = signin_limit.retry_after(self.request, email)
        except SharedCacheUnavailable:
            raise ValidationError(signin_limit.UNAVAILABLE_MESSAGE, code="unavailable") from None
        if wait:
            raise ValidationError(
                self.rate_limited_message, code="rate_limited", params={"minutes": -(-wait // 60)}
            )
        return super().clean()


class LoginForm(SsoRequiredMessageMixin, SignInLimitMixin, auth_forms.AuthenticationForm):
    """Sign in to the console with email and password."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account.",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # "webauthn": the browser may suggest this site's passkeys in the email field.
        self.fields["username"].widget.attrs["autocomplete"] = "username webauthn"


class AdminLoginForm(
    SsoRequiredMessageMixin, SignInLimitMixin, admin_forms.AdminAuthenticationForm
):
    """Sign operators in to /admin/ under the same limit as the console."""


class OldPasswordLimitMixin:
    """Check the old password of a password change under the sign-in limit."""

    def clean_old_password(self) -> str:
        password = self.cleaned_data["old_password"]
        refused = signin_limit.confirm_password(None, self.user, password)
        if refused == "rate_limited":
            raise ValidationError(signin_limit.WAIT_MESSAGE, code="rate_limited")
        if refused == "unavailable":
            raise ValidationError(signin_limit.UNAVAILABLE_MESSAGE, code="unavailable")
        if refused:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return password


class PasswordChangeForm(OldPasswordLimitMixin, auth_forms.PasswordChangeForm):
    """Change the console user's password."""


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Queue the reset email as a task that makes the link when it sends it.

    The link is a credential: it is never written to the task queue.
    """

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        """Queue the email to the user in `context`; Django's templates and sender are unused."""
        base_url = f"{context['protocol']}://{context['domain']}"
        enqueue_after_commit(tasks.email_password_reset, context["user"].pk, base_url)


class AdminPasswordChangeForm(OldPasswordLimitMixin, admin_forms.AdminPasswordChangeForm):
    """Change the operator's own password in /admin/."""


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
        password = self.cleaned_data.get("password1")
        if password:
            try:
                password_validation.validate_password(password, User(**user_fields))
            except ValidationError as error:
                self.add_error("password1", error)


class SignupForm(PasswordPairMixin):
    full_name = text_form_field(User, "full_name", label="Your name")
    email = forms.EmailField(
        widget=forms.EmailInput(attrs={"autocomplete": "email"}), validators=[validate_email_text]
    )
    workspace_name = text_form_field(
        Workspace,
        "name",
        label="Workspace name",
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
    full_name = text_form_field(User, "full_name", label="Your name")
    field_order = ["full_name", "password1", "password2"]

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        self.validate_password_for(email=self.email, full_name=cleaned.get("full_name", ""))
        return cleaned


class WorkspaceForm(forms.Form):
    name = text_form_field(Workspace, "name", label="Workspace name")


class InvitationForm(forms.Form):
    email = forms.EmailField(
        widget=forms.EmailInput(attrs={"autocomplete": "off"}), validators=[validate_email_text]
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
