"""Django admin for operators: users, workspaces, invitations and the read-only audit log.

Sign-in (a user's factors, a workspace's two-factor and SSO policies) is in
accounts.admin_signin; docs/sso.md says where operators find it.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import services, signals
from accounts.admin_base import ReadOnlyAdmin
from accounts.admin_signin import (
    PasskeyInline,
    SignInFactorsAdminMixin,
    WorkspacePoliciesForm,
    passkeys_remove,
    policies_save,
    sso_policy_summary,
)
from accounts.audit import audit_record
from accounts.models import AuditEvent, Invitation, Membership, Passkey, User, Workspace
from accounts.signin import factors


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(SignInFactorsAdminMixin, BaseUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ["email"]
    list_display = [
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "two_factor",
        "date_joined",
        "last_login",
    ]
    actions = ["turn_off_two_factor"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["date_joined", "last_login", *SignInFactorsAdminMixin.sign_in_fields]
    inlines = [PasskeyInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name"]}),
        (
            "Access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
        (
            "Sign-in factors",
            {
                "fields": SignInFactorsAdminMixin.sign_in_fields,
                "description": "Passkeys are listed below. A user who lost their devices: "
                "select them in the user list and run “Turn off two-factor authentication”.",
            },
        ),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]},
        ),
    ]

    def save_model(self, request, obj, form, change):
        """Save the user; a deactivation's token revocations name the operator."""
        with signals.acting_as(request.user, request):
            super().save_model(request, obj, form, change)

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(has_factor=factors.has_two_factor_expression())
        )

    def get_inline_instances(self, request, obj=None):
        return [] if obj is None else super().get_inline_instances(request, obj)

    def save_formset(self, request, form, formset, change):
        """Remove the passkeys ticked for deletion through the service (audited, emailed)."""
        if formset.model is Passkey:
            return passkeys_remove(request=request, formset=formset)
        return super().save_formset(request, form, formset, change)

    @admin.display(boolean=True, description="Two-factor", ordering="has_factor")
    def two_factor(self, user) -> bool:
        return user.has_factor

    @admin.action(
        description="Turn off two-factor authentication (lost devices and codes)",
        permissions=["change"],
    )
    def turn_off_two_factor(self, request, queryset):
        users = list(queryset)
        count = sum(
            factors.two_factor_reset(user=user, actor=request.user, request=request)
            for user in users
        )
        self.message_user(
            request,
            f"Turned off two-factor authentication for {count} user(s)"
            + (f"; {len(users) - count} had none." if len(users) > count else "."),
            messages.SUCCESS,
        )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "two_factor_policy", "sso_required", "created_at"]
    list_select_related = ["single_sign_on"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    # The policies are changed through the console's services (accounts.admin_signin).
    policy_fieldsets = [
        ("Two-factor authentication", {"fields": ["two_factor_policy"]}),
        (
            "Single sign-on",
            {
                "fields": [
                    "sso_required",
                    "sso_break_glass_admin",
                    "sso_jit_enabled",
                    "sso_jit_domains",
                    "sso_jit_role",
                ],
            },
        ),
    ]

    readonly_fields = ["sso_summary"]

    def _edits_policies(self, request, obj) -> bool:
        return obj is not None and self.has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "slug"]})]
        if not self._edits_policies(request, obj):  # view-only staff
            return [(None, {"fields": ["name", "slug", "two_factor_policy", "sso_summary"]})]
        return [(None, {"fields": ["name", "slug"]}), *self.policy_fieldsets]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if not self._edits_policies(request, obj):
            return super().get_form(request, obj, change=change, **kwargs)
        kwargs["fields"] = None  # the policy fields are the form's own, not the model's
        form = super().get_form(request, obj, change=change, form=WorkspacePoliciesForm, **kwargs)
        return type(form.__name__, (form,), {"operator": request.user})

    @admin.display(description="Single sign-on")
    def sso_summary(self, workspace) -> str:
        return sso_policy_summary(workspace)

    @admin.display(boolean=True, description="SSO required")
    def sso_required(self, workspace) -> bool:
        return getattr(getattr(workspace, "single_sign_on", None), "required", False)

    def save_model(self, request, obj, form, change):
        """Save the workspace and audit what the operator changed; policies via their services."""
        super().save_model(request, obj, form, change)
        changed = [field for field in form.changed_data if field in ("name", "slug")]
        if change and changed:
            audit_record(
                action="workspace.changed",
                actor=request.user,
                target=obj,
                request=request,
                details={field: form.cleaned_data[field] for field in changed},
            )
        if change:
            policies_save(request=request, workspace=obj, form=form)

    def save_formset(self, request, form, formset, change):
        """Apply membership changes through the services, so they are checked and audited."""
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        try:
            with transaction.atomic():
                for inline_form in formset.deleted_forms:
                    if inline_form.instance.pk:
                        services.membership_remove(
                            membership=inline_form.instance, actor=request.user, request=request
                        )
                for inline_form in formset.forms:
                    if inline_form in formset.deleted_forms or not inline_form.has_changed():
                        continue
                    data = inline_form.cleaned_data
                    if inline_form.instance.pk is None:
                        services.membership_add(
                            workspace=form.instance,
                            user=data["user"],
                            role=data["role"],
                            actor=request.user,
                            request=request,
                        )
                    elif "user" in inline_form.changed_data:
                        raise ValidationError(
                            "A membership's user cannot change: delete it and add another."
                        )
                    elif "role" in inline_form.changed_data:
                        services.membership_change_role(
                            membership=Membership.objects.get(pk=inline_form.instance.pk),
                            role=data["role"],
                            actor=request.user,
                            request=request,
                        )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        formset.new_objects = formset.changed_objects = formset.deleted_objects = []
        return None


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "workspace",
        "role",
        "invited_by",
        "sent_at",
        "accepted_at",
        "cancelled_at",
    ]
    list_filter = ["role", "workspace"]
    search_fields = ["email", "workspace__name"]
    # The key is half of a working invitation link: operators never see it.
    readonly_fields = ["created_at", "sent_at", "accepted_at", "accepted_by", "invited_by"]
    exclude = ["key"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "action",
        "actor_label",
        "target_type",
        "target_label",
        "workspace",
        "ip",
    ]
    list_filter = ["action", "workspace"]
    search_fields = ["action", "actor_label", "target_label", "target_id", "actor_token_id"]
    date_hierarchy = "created_at"
    list_select_related = ["workspace"]
