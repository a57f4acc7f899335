"""Django admin for operators: tokens' limits (set through the service) and workspaces' policies."""

from __future__ import annotations

from django.contrib import admin

from accounts.form_errors import ServiceCheckedForm
from gateway import limit_policy_services
from gateway.limit_forms import FORM_FIELDS, limits_of
from gateway.limit_models import LimitPolicy, TokenLimits
from gateway.limit_services import (
    clean_limits,
    limit_policy,
    token_limits_set,
)
from tokens.actors import Actor

# The service's field names, as the model's.
MODEL_FIELDS = {**FORM_FIELDS, "rate_limit.per": "rate_period"}


class TokenLimitsForm(ServiceCheckedForm):
    rename = MODEL_FIELDS

    class Meta:
        model = TokenLimits
        fields = ["token", "rate", "rate_period", "burst", "quota", "quota_period"]

    def service_check(self, data: dict) -> None:
        token = data.get("token") or getattr(self.instance, "token", None)
        if token is not None:
            clean_limits(*limits_of(data), limit_policy(token.workspace_id))


@admin.register(TokenLimits)
class TokenLimitsAdmin(admin.ModelAdmin):
    form = TokenLimitsForm
    list_display = ["token", "rate", "rate_period", "burst", "quota", "quota_period", "updated_at"]
    search_fields = ["token__name", "token__public_id"]
    list_select_related = ["token"]
    raw_id_fields = ["token"]

    def get_readonly_fields(self, request, obj=None):
        return ["token"] if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        token = form.cleaned_data.get("token") or obj.token
        rate, quota = limits_of(form.cleaned_data)
        token_limits_set(
            actor=Actor.operator(request.user), token=token, rate=rate, quota=quota, request=request
        )

    def delete_model(self, request, obj) -> None:
        token_limits_set(
            actor=Actor.operator(request.user),
            token=obj.token,
            rate=None,
            quota=None,
            request=request,
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # One at a time, through the service (bulk deletes would skip its audit).
        return obj is not None and super().has_delete_permission(request, obj)


class LimitPolicyForm(ServiceCheckedForm):
    class Meta:
        model = LimitPolicy
        fields = ["workspace", *limit_policy_services.FIELDS]

    def service_check(self, data: dict) -> None:
        limit_policy_services.clean_limit_policy(data)


@admin.register(LimitPolicy)
class LimitPolicyAdmin(admin.ModelAdmin):
    """Workspaces' default limits and ceilings, set through the service the console uses."""

    form = LimitPolicyForm
    list_display = ["workspace", "max_rate_per_minute", "max_burst", "max_quota"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]

    def get_readonly_fields(self, request, obj=None):
        return ["workspace"] if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        workspace = form.cleaned_data.get("workspace") or obj.workspace
        limit_policy_services.set_limit_policy(
            actor=Actor.operator(request.user),
            workspace=workspace,
            request=request,
            **{name: form.cleaned_data.get(name) for name in limit_policy_services.FIELDS},
        )
        obj.workspace = workspace  # its pk, for the admin's log and redirect

    def delete_model(self, request, obj) -> None:
        # Deleting clears the policy (no defaults, no ceilings), audited like any change.
        limit_policy_services.set_limit_policy(
            actor=Actor.operator(request.user), workspace=obj.workspace, request=request
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # One at a time, through the service (bulk deletes would skip its audit).
        return obj is not None and super().has_delete_permission(request, obj)
