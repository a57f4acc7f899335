"""Django admin for operators: tokens (no secrets; revoke through the service), resources and
policies."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.admin_base import ReadOnlyAdmin
from tokens import services
from tokens.actors import Actor
from tokens.checking import TokenCheckForm, token_revoke_checked
from tokens.models import LeakReport, Resource, RevokeReason, Token, WorkspacePolicy


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
class TokenAdmin(ReadOnlyAdmin):
    # Read-only: tokens are made by the service (console, API, issue_token), which shows the
    # secret once, and revoked, never deleted (which also keeps "Delete selected" out).
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
        "created_by_token",
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

    def get_urls(self):
        check = self.admin_site.admin_view(self.check_view)
        return [
            path("check/", check, name="tokens_token_check"),
            *super().get_urls(),
        ]

    def has_revoke_permission(self, request) -> bool:
        """Return whether the operator may revoke tokens (the "change token" permission)."""
        return request.user.has_perm("tokens.change_token")

    def check_view(self, request):
        """Find a token by its value across workspaces and revoke it as leaked (audited)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        arguments = {"actor": Actor.operator(request.user), "workspace": None, "request": request}
        form = TokenCheckForm(request.POST or None, **arguments)
        if request.method == "POST" and request.POST.get("revoke"):
            if not self.has_revoke_permission(request):
                raise PermissionDenied
            outcome = token_revoke_checked(
                user=request.user, proof=request.POST["revoke"], **arguments
            )
            if outcome.token is not None:
                self.message_user(request, outcome.message, messages.SUCCESS)
                return redirect(reverse("admin:tokens_token_change", args=[outcome.token.pk]))
            form = TokenCheckForm(**arguments)
            self.message_user(request, outcome.message, messages.ERROR)
        found = form.found if form.is_bound and form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "title": "Check a token",
            "opts": self.model._meta,
            "form": form,
            "found": found,
            "check_proof": form.proof_for(request.user),
            "may_revoke": self.has_revoke_permission(request),
        }
        return TemplateResponse(request, "admin/tokens/token/check.html", context)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        actor = Actor.operator(request.user)
        count = 0
        for token in queryset.active().select_related("workspace"):
            services.token_revoke(
                actor=actor, token=token, reason=RevokeReason.OPERATOR, request=request
            )
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


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


@admin.register(LeakReport)
class LeakReportAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "reported", "ours", "revoked", "duration_ms"]
    list_filter = ["source"]
    date_hierarchy = "received_at"
    fields = [
        "received_at",
        "source",
        "key_identifier",
        "reported",
        "ours",
        "revoked",
        "duration_ms",
        "entries",
    ]
    readonly_fields = fields
