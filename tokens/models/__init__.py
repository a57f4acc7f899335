"""Re-export the tokens models."""

from tokens.models.leaks import LeakReport
from tokens.models.policies import RevealPolicy, WorkspacePolicy
from tokens.models.reminders import ExpiryReminder
from tokens.models.resources import Resource
from tokens.models.tokens import (
    RevokeReason,
    Token,
    TokenKind,
    TokenQuerySet,
    TokenStatus,
    active_q,
    lifecycle_status,
    revoked_q,
    visible_q,
)

__all__ = [
    "ExpiryReminder",
    "LeakReport",
    "Resource",
    "RevealPolicy",
    "RevokeReason",
    "Token",
    "TokenKind",
    "TokenQuerySet",
    "TokenStatus",
    "WorkspacePolicy",
    "active_q",
    "lifecycle_status",
    "revoked_q",
    "visible_q",
]
