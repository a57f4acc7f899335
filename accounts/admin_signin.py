"""What Django admin shows and changes of sign-in: a user's factors, a workspace's policies.

Operators see whether a user has passkeys, an authenticator app and recovery
codes left, and whether they signed in with SSO; never a key, a code or a
credential. What they change goes through the console's services (removing a
passkey, turning two-factor off, the workspace's two-factor and SSO policies),
so it is checked, audited and emailed the same way.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from accounts import services
from accounts.form_errors import add_service_errors
from accounts.models import AuditEvent, Passkey, RecoveryCode, TotpDevice, User, Workspace
from accounts.models.sso import JIT_ROLES
from accounts.models.workspaces import TwoFactorPolicy
from accounts.signin import oidc_config, passkey_services, recovery, sso

NEVER = "never"


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else NEVER


class PasskeyInline(admin.TabularInline):
    """A user's passkeys, read-only; deleting one removes it through the console's service."""

    model = Passkey
    extra = 0
    fields = ["name", "created_at", "last_used_at", "how_it_connects", "discoverable"]
    readonly_fields = fields
    verbose_name_plural = "Passkeys (tick Delete to remove a lost one; the user is emailed)"

    def has_add_permission(self, request, obj=None):
        return False  # only the user's authenticator can make one

    @admin.display(description="Transports")
    def how_it_connects(self, passkey: Passkey) -> str:
        return ", ".join(passkey.transports) or "not said"


def passkeys_remove(*, request, formset) -> None:
    """Remove the passkeys ticked for deletion in `formset`, as the operator, one by one."""
    with transaction.atomic():
        for form in formset.deleted_forms:
            passkey = form.instance
            if passkey.pk is not None:
                passkey_services.passkey_remove(
                    request=request, user=passkey.user, passkey=passkey, actor=request.user
                )
    formset.new_objects = formset.changed_objects = formset.deleted_objects = []


class SignInFactorsAdminMixin:
    """Read-only lines of the user's change page: TOTP, recovery codes left, SSO sign-ins."""

    sign_in_fields = ["authenticator_app", "recovery_codes_left", "single_sign_on"]

    @admin.display(description="Authenticator app (TOTP)")
    def authenticator_app(self, user: User) -> str:
        device = TotpDevice.objects.filter(user=user).first()
        if device is None:
            return "not set up"
        return f"set up {_when(device.created_at)}; last used {_when(device.last_used_at)}"

    @admin.display(description="Recovery codes")
    def recovery_codes_left(self, user: User) -> str:
        left = RecoveryCode.objects.filter(user=user).unused().count()
        if not left and not RecoveryCode.objects.filter(user=user).exists():
            return "none"
        return f"{left} of {recovery.COUNT} unused"

    @admin.display(description="Single sign-on")
    def single_sign_on(self, user: User) -> str:
        last = (
            AuditEvent.objects.filter(action="signin.sso", actor_user=user)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        said = f"last signed in with SSO {_when(last)}" if last else "never signed in with SSO"
        password = "" if user.has_usable_password() else "; no password (SSO only)"
        return said + password


class WorkspacePoliciesForm(forms.ModelForm):
    """The workspace's name and slug, with its two-factor and single sign-on policies.

    The policies are not model fields of this form: they are checked in `clean`
    by the console's rules (accounts.signin.sso.sso_settings_check) and saved
    by WorkspaceAdmin through the console's services.
    """

    two_factor_policy = forms.ChoiceField(
        label="Require two-factor authentication",
        choices=TwoFactorPolicy.choices,
        help_text="Members it covers are sent to set up two-factor before they use the workspace.",
    )
    sso_required = forms.BooleanField(
        label="Members must sign in with SSO",
        required=False,
        help_text="Password sign-ins of its members are refused, except the break-glass Admin's.",
    )
    sso_break_glass_admin = forms.ModelChoiceField(
        label="Break-glass Admin",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody",
        help_text="The one Admin who may still sign in with a password while SSO is required.",
    )
    sso_jit_enabled = forms.BooleanField(
        label="Just-in-time membership",
        required=False,
        help_text="People at these email domains join when they sign in with SSO.",
    )
    sso_jit_domains = forms.CharField(
        label="Email domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line.",
    )
    sso_jit_role = forms.ChoiceField(label="Role of people who join", choices=JIT_ROLES)

    # Set by WorkspaceAdmin.get_form: the operator making the change.
    operator: User | None = None

    class Meta:
        model = Workspace
        fields = ["name", "slug"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        workspace = self.instance
        config = sso.sso_settings(workspace)
        self.fields["two_factor_policy"].initial = workspace.two_factor_policy
        self.fields["sso_required"].initial = config.required
        self.fields["sso_break_glass_admin"].initial = config.break_glass_admin_id
        self.fields["sso_break_glass_admin"].queryset = sso.break_glass_candidates(workspace)
        self.fields["sso_jit_enabled"].initial = config.jit_enabled
        self.fields["sso_jit_domains"].initial = "\n".join(config.jit_domains)
        self.fields["sso_jit_role"].initial = config.jit_role
        if not oidc_config.is_enabled():
            self.fields[
                "sso_required"
            ].help_text += " Off while KEYWARD_OIDC_ISSUER is unset (docs/sso.md)."

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:  # a new workspace gets the defaults
            return cleaned
        settings = {name: cleaned.get(f"sso_{name}") for name in SSO_FIELDS}
        try:
            self.sso_values = sso.sso_settings_check(
                workspace=self.instance, actor=self.operator, by_operator=True, **settings
            )
        except ValidationError as error:
            add_service_errors(self, error, {name: f"sso_{name}" for name in SSO_FIELDS})
        return cleaned

    def changed_policies(self) -> tuple[bool, bool]:
        """Return whether the two-factor policy, and whether the SSO settings, were changed."""
        changed = set(self.changed_data)
        return "two_factor_policy" in changed, any(f"sso_{name}" in changed for name in SSO_FIELDS)


SSO_FIELDS = ("required", "jit_enabled", "jit_domains", "jit_role", "break_glass_admin")


def policies_save(*, request, workspace: Workspace, form: WorkspacePoliciesForm) -> None:
    """Save what the operator changed of the workspace's policies, through the services."""
    two_factor_changed, sso_changed = form.changed_policies()
    if two_factor_changed:
        services.workspace_two_factor_policy_update(
            workspace=workspace,
            policy=form.cleaned_data["two_factor_policy"],
            actor=request.user,
            request=request,
            by_operator=True,
        )
    if sso_changed:
        sso.sso_settings_update(
            workspace=workspace,
            actor=request.user,
            request=request,
            by_operator=True,
            **form.sso_values,
        )


def sso_policy_summary(workspace: Workspace) -> str:
    """Return the workspace's SSO settings in words, for staff who may only view them."""
    config = sso.sso_settings(workspace)
    parts = ["members must sign in with SSO" if config.required else "SSO not required"]
    if config.break_glass_admin_id:
        parts.append(f"break-glass Admin {config.break_glass_admin.email}")
    if config.jit_enabled:
        domains = ", ".join(config.jit_domains)
        parts.append(f"people at {domains} join as {config.get_jit_role_display()}")
    said = "; ".join(parts)
    return said[:1].upper() + said[1:]
