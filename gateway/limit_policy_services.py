"""Change a workspace's limits policy and usage settings: the services the console and the
admin call.

Rules: every count is a whole number from 1 to 2**63 - 1 (or empty: none); a
default burst needs a default rate and is at least it; a default needs its
period; defaults lie within the ceilings (the rate compared per minute), so a
new token's defaults never break the rules it is then held to. Errors name the
policy's fields with a stable code. Saving caps the active tokens beyond the
ceilings (gateway.limit_ceilings), in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.locks import lock_workspace
from accounts.models import Workspace
from gateway.limit_ceilings import ceilings_apply
from gateway.limit_models import LimitPolicy
from gateway.limit_services import (
    Quota,
    RateLimit,
    clean_limits,
    over_ceilings,
)
from gateway.usage_models import UsageSettings
from tokens import rules
from tokens.actors import Actor

__all__ = [
    "CEILINGS",
    "DEFAULTS",
    "FIELDS",
    "PolicyChange",
    "clean_limit_policy",
    "limit_policy_of",
    "set_limit_policy",
    "set_usage_settings",
    "usage_settings_of",
]

DEFAULTS = (
    "default_rate",
    "default_rate_period",
    "default_burst",
    "default_quota",
    "default_quota_period",
)
CEILINGS = ("max_rate_per_minute", "max_burst", "max_quota")
FIELDS = DEFAULTS + CEILINGS

# clean_limits names a token's fields as the API does; here they are the defaults.
DEFAULT_FIELDS = {
    "rate_limit.requests": "default_rate",
    "rate_limit.per": "default_rate_period",
    "rate_limit.burst": "default_burst",
    "quota.uses": "default_quota",
    "quota.period": "default_quota_period",
}


@dataclass(frozen=True)
class PolicyChange:
    """What a save changed: {field: {"from": ..., "to": ...}}, empty when nothing did, and how
    many active tokens the ceilings capped."""

    changed: dict[str, dict]
    tokens_capped: int = 0


def _renamed(error: ValidationError, names: dict[str, str]) -> dict[str, list]:
    return {names.get(field, field): errors for field, errors in error.error_dict.items()}


def _blank(value) -> bool:
    return value is None or value == ""


def clean_limit_policy(values: dict) -> dict:
    """Return the policy's fields cleaned, or raise ValidationError with an error per field."""
    errors: dict[str, list] = {}
    ceilings = {}
    for name in CEILINGS:
        value = values.get(name)
        if _blank(value):
            ceilings[name] = None
            continue
        try:
            # A ceiling is a count like a token's; clean_limits says what is wrong with it.
            ceilings[name] = clean_limits(None, Quota(value, "total"), None).quota
        except ValidationError as error:
            errors[name] = error.error_dict["quota.uses"]
    rate = quota = None
    if not _blank(values.get("default_rate")):
        rate = RateLimit(
            values["default_rate"], values.get("default_rate_period"), values.get("default_burst")
        )
    elif not _blank(values.get("default_burst")):
        errors["default_rate"] = [
            ValidationError("Enter a default rate for the burst to apply to.", code="required")
        ]
    if not _blank(values.get("default_quota")):
        quota = Quota(values["default_quota"], values.get("default_quota_period"))
    try:
        defaults = clean_limits(rate, quota, None)
    except ValidationError as error:
        errors.update(_renamed(error, DEFAULT_FIELDS))
        defaults = None
    if errors:
        raise ValidationError(errors)
    beyond: dict = {}
    over_ceilings(defaults, LimitPolicy(**ceilings), beyond, required=False)
    if beyond:
        renamed = _renamed(ValidationError(beyond), DEFAULT_FIELDS)  # each error keeps its code
        raise ValidationError(renamed)
    return {
        "default_rate": defaults.rate,
        "default_rate_period": defaults.rate_period,
        # Empty when none was typed: the rate is its default.
        "default_burst": None if _blank(values.get("default_burst")) else defaults.burst,
        "default_quota": defaults.quota,
        "default_quota_period": defaults.quota_period,
        **ceilings,
    }


def limit_policy_of(workspace: Workspace) -> LimitPolicy:
    """Return the workspace's limits policy, unsaved and empty when it has none."""
    return LimitPolicy.objects.filter(workspace=workspace).first() or LimitPolicy(
        workspace=workspace
    )


def _may_change(actor: Actor) -> None:
    if not rules.may_manage_policies(actor):
        raise PermissionDenied("Your role may not change the workspace's limits and usage.")


def set_limit_policy(
    *, actor: Actor, workspace: Workspace, request: HttpRequest | None = None, **values
) -> PolicyChange:
    """Give the workspace these default limits and ceilings (empty: none), and its active
    tokens beyond the ceilings the ceilings (limit_ceilings); audit each change."""
    _may_change(actor)
    cleaned = clean_limit_policy({name: values.get(name) for name in FIELDS})
    with transaction.atomic():
        lock_workspace(workspace.pk)
        policy, _ = LimitPolicy.objects.select_for_update().get_or_create(workspace=workspace)
        changed = {
            name: {"from": getattr(policy, name), "to": value}
            for name, value in cleaned.items()
            if getattr(policy, name) != value
        }
        if changed:
            for name, value in cleaned.items():
                setattr(policy, name, value)
            policy.save()
        # Every save applies the ceilings, changed or not: tokens issued before this rule
        # (or under a policy saved before it) are capped by saving the policy again.
        capped = ceilings_apply(actor=actor, workspace=workspace, policy=policy, request=request)
        if changed:
            audit_record(
                action="limit_policy.updated",
                actor=actor,
                workspace=workspace,
                request=request,
                details={"changed": changed, "tokens_capped": len(capped)},
            )
    return PolicyChange(changed, len(capped))


def usage_settings_of(workspace: Workspace) -> UsageSettings:
    """Return the workspace's usage settings, unsaved and at their defaults when it has none."""
    return UsageSettings.objects.filter(workspace=workspace).first() or UsageSettings(
        workspace=workspace
    )


def set_usage_settings(
    *,
    actor: Actor,
    workspace: Workspace,
    email_on_new_ip: bool,
    request: HttpRequest | None = None,
) -> PolicyChange:
    """Turn the email about a token's first use from a new IP on or off; audit a change."""
    _may_change(actor)
    value = bool(email_on_new_ip)
    with transaction.atomic():
        settings, _ = UsageSettings.objects.select_for_update().get_or_create(workspace=workspace)
        if settings.email_on_new_ip == value:
            return PolicyChange({})
        changed = {"email_on_new_ip": {"from": settings.email_on_new_ip, "to": value}}
        settings.email_on_new_ip = value
        settings.save(update_fields=["email_on_new_ip"])
        audit_record(
            action="usage_settings.updated",
            actor=actor,
            workspace=workspace,
            request=request,
            details={"changed": changed},
        )
    return PolicyChange(changed)
