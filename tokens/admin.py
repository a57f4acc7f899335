"""Django admin for operators: tokens (no secrets; revoke through the service), resources and
policies."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from tokens import services
from tokens.actors import Actor
from tokens.models import Resource, RevokeReason, Token, WorkspacePolicy


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.with_status(self.value())
        return queryset


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "public_id",
        "censored",
        "workspace",
        "kind",
        "owner",
        "status_display",
        "expires_at",
        "last_used_at",
    ]
    list_filter = [StatusFilter, "kind", "workspace"]
    search_fields = ["name", "public_id", "last_four"]
    list_select_related = ["workspace", "owner"]
    actions = ["revoke_selected"]
    fields = [
        "public_id",
        "censored",
        "workspace",
        "kind",
        "owner",
        "created_by",
        "name",
        "description",
        "scopes",
        "resources",
        "allowed_ips",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "last_used_user_agent",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
        "rotated_from",
    ]
    readonly_fields = fields

    @admin.display(description="status")
    def status_display(self, token: Token) -> str:
        return token.status(timezone.now()).capitalize()

    def has_add_permission(self, request):
        # Tokens are made by the service (console, API, issue_token), which shows the secret once.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Also keeps "Delete selected" out of the actions: revoke, never delete.
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request, queryset):
        actor = Actor.operator(request.user)
        count = 0
        for token in queryset.active().select_related("workspace"):
            services.token_revoke(
                actor=actor, token=token, reason=RevokeReason.OPERATOR, request=request
            )
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Show records whose changes must go through the console's audited services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Resource)
class ResourceAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["name"]


@admin.register(WorkspacePolicy)
class WorkspacePolicyAdmin(ReadOnlyAdmin):
    list_display = [
        "workspace",
        "max_lifetime_days",
        "allow_never_expiring",
        "members_may_create_personal",
        "reveal_policy",
    ]
