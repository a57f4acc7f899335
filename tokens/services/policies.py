"""Change a workspace's token policies, and say what a change means for existing tokens.

A stricter policy never breaks a token already issued: it applies to tokens
created or rotated afterwards, and the Policies tab says how many existing
tokens it would not have allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_record
from accounts.errors import field_error
from accounts.locks import lock_workspace
from accounts.models import Workspace
from tokens import rules, vault
from tokens.actors import Actor
from tokens.models import RevealPolicy, Token, WorkspacePolicy
from tokens.services.tokens import workspace_policy

FIELDS = (
    "max_lifetime_days",
    "allow_never_expiring",
    "members_may_create_personal",
    "reveal_policy",
)
MAX_LIFETIME_DAYS = 36500


@dataclass(frozen=True)
class PolicyChange:
    policy: WorkspacePolicy
    changed: dict[str, dict]
    erased_copies: int


def tokens_beyond_lifetime(workspace: Workspace, max_lifetime_days: int | None) -> int:
    """Return how many active tokens live longer than `max_lifetime_days` from now allows."""
    if not max_lifetime_days:
        return 0
    limit = timezone.now() + timedelta(days=max_lifetime_days)
    # Those still active at the limit: a token in its grace period stops at its revocation.
    return Token.objects.active(limit).filter(workspace=workspace).count()


def never_expiring_count(workspace: Workspace) -> int:
    """Return how many active tokens never expire."""
    return (
        Token.objects.active_not_in_grace()
        .filter(workspace=workspace, expires_at__isnull=True)
        .count()
    )


def retrievable_count(workspace: Workspace) -> int:
    """Return how many tokens keep an encrypted copy of their secret."""
    return Token.objects.filter(workspace=workspace).with_stored_copy().count()


def _clean(values: dict) -> dict:
    days = values.get("max_lifetime_days")
    if days is not None and not (isinstance(days, int) and 1 <= days <= MAX_LIFETIME_DAYS):
        raise field_error(
            "max_lifetime_days",
            f"Enter a number of days from 1 to {MAX_LIFETIME_DAYS}.",
            "invalid_lifetime",
        )
    reveal = values.get("reveal_policy")
    if reveal not in RevealPolicy.values:
        raise field_error("reveal_policy", "Choose show once or retrievable.", "invalid_reveal")
    return {
        "max_lifetime_days": days,
        "allow_never_expiring": bool(values.get("allow_never_expiring")),
        "members_may_create_personal": bool(values.get("members_may_create_personal")),
        "reveal_policy": reveal,
    }


def _refuse_retrievable_without_keys(policy: WorkspacePolicy, reveal: str) -> None:
    # Keeping an already chosen retrievable policy stays possible when keys go
    # missing, so that the other policies can still be saved.
    if (
        reveal == RevealPolicy.RETRIEVABLE
        and policy.reveal_policy != RevealPolicy.RETRIEVABLE
        and not vault.is_configured()
    ):
        raise field_error(
            "reveal_policy",
            "Retrievable needs encryption keys: an operator must set "
            "KEYWARD_TOKEN_ENCRYPTION_KEYS first.",
            "no_encryption_keys",
        )


def policy_update(
    *, actor: Actor, workspace: Workspace, request: HttpRequest | None = None, **values
) -> PolicyChange:
    """Change the workspace's token policies; switching to show once erases stored copies."""
    if not rules.may_manage_policies(actor):
        raise PermissionDenied("Your role may not change the workspace's policies.")
    cleaned = _clean({field: values.get(field) for field in FIELDS})
    with transaction.atomic():
        lock_workspace(workspace.pk)  # before the policy and the tokens whose copies it erases
        policy = WorkspacePolicy.objects.select_for_update().get(pk=workspace_policy(workspace).pk)
        _refuse_retrievable_without_keys(policy, cleaned["reveal_policy"])
        changed = {
            field: {"from": getattr(policy, field), "to": value}
            for field, value in cleaned.items()
            if getattr(policy, field) != value
        }
        if not changed:
            return PolicyChange(policy, {}, 0)
        for field, value in cleaned.items():
            setattr(policy, field, value)
        policy.save()
        erased = 0
        if policy.reveal_policy == RevealPolicy.SHOW_ONCE:
            erased = Token.objects.filter(workspace=workspace).erase_copies()
        audit_record(
            action="policy.updated",
            actor=actor,
            workspace=workspace,
            request=request,
            details={
                "changed": changed,
                "erased_copies": erased,
                "tokens_beyond_lifetime": tokens_beyond_lifetime(
                    workspace, policy.max_lifetime_days
                ),
            },
        )
    return PolicyChange(policy, changed, erased)
