"""Django admin for operators: users, workspaces, invitations and the read-only audit log."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef

from accounts import services, signals
from accounts.admin_base import ReadOnlyAdmin
from accounts.audit import audit_record
from accounts.models import AuditEvent, Invitation, Membership, TotpDevice, User, Workspace
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
class UserAdmin(BaseUserAdmin):
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
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name"]}),
        (
            "Access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
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
            super()
            .get_queryset(request)
            .annotate(has_totp=Exists(TotpDevice.objects.filter(user=OuterRef("pk"))))
        )

    @admin.display(boolean=True, description="Two-factor", ordering="has_totp")
    def two_factor(self, user) -> bool:
        return user.has_totp

    @admin.action(description="Turn off two-factor authentication (lost phone and codes)")
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
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    # Its Admins change it (Settings → Policies), through the service that checks they have 2FA.
    readonly_fields = ["two_factor_policy"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        """Save the workspace and audit what the operator changed."""
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            audit_record(
                action="workspace.changed",
                actor=request.user,
                target=obj,
                request=request,
                details={field: form.cleaned_data[field] for field in form.changed_data},
            )

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
