"""Django admin for operators: tokens (no secrets; revoke through the service), resources and
policies."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from tokens import services
from tokens.actors import Actor
from tokens.check_proofs import STALE_PROOF, check_proof, checked_public_id
from tokens.forms import TokenCheckForm
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

    def has_add_permission(self, request):
        # Tokens are made by the service (console, API, issue_token), which shows the secret once.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Also keeps "Delete selected" out of the actions: revoke, never delete.
        return False

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
        actor = Actor.operator(request.user)
        form = TokenCheckForm(request.POST or None)
        if request.method == "POST" and request.POST.get("revoke"):
            if not self.has_revoke_permission(request):
                raise PermissionDenied
            public_id = checked_public_id(request.POST["revoke"], request.user)
            if public_id is not None:
                return self._revoke_as_leaked(request, actor, public_id)
            form = TokenCheckForm()
            self.message_user(request, STALE_PROOF, messages.ERROR)
        found = None
        if form.is_bound and form.is_valid():
            value = form.cleaned_data["value"]
            if not services.secrets_look_valid(value):
                form.add_error("value", "This is not a Keyward token (format or checksum).")
            else:
                try:
                    found = services.token_check(
                        actor=actor, workspace=None, value=value, request=request
                    )
                except ValidationError as error:
                    form.add_error("value", error)
                else:
                    if found is None:
                        form.add_error("value", "No token has this value.")
        context = {
            **self.admin_site.each_context(request),
            "title": "Check a token",
            "opts": self.model._meta,
            "form": form,
            "found": found,
            "check_proof": check_proof(found, request.user) if found is not None else "",
            "may_revoke": self.has_revoke_permission(request),
        }
        return TemplateResponse(request, "admin/tokens/token/check.html", context)

    def _revoke_as_leaked(self, request, actor: Actor, public_id: str):
        token = get_object_or_404(Token, public_id=public_id)
        leak = services.token_revoke_as_leaked(actor=actor, token=token, request=request)
        level = messages.SUCCESS if leak.revoked_now else messages.INFO
        self.message_user(request, f"Token {token.name} {leak.outcome()}", level)
        return redirect(reverse("admin:tokens_token_change", args=[token.pk]))

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
