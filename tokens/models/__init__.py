"""Re-export the tokens models."""

from tokens.models.leaks import LeakReport
from tokens.models.policies import RevealPolicy, WorkspacePolicy
from tokens.models.reminders import ExpiryReminder
from tokens.models.resources import (
    RESOURCE_DESCRIPTION_MAX_LENGTH,
    RESOURCE_KIND_MAX_LENGTH,
    RESOURCE_NAME_MAX_LENGTH,
    Resource,
)
from tokens.models.tokens import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    RevokeReason,
    RotationGrace,
    Token,
    TokenKind,
    TokenQuerySet,
    TokenStatus,
    active_q,
    in_grace_q,
    lifecycle_status,
    revoked_q,
    visible_q,
)

__all__ = [
    "DESCRIPTION_MAX_LENGTH",
    "NAME_MAX_LENGTH",
    "RESOURCE_DESCRIPTION_MAX_LENGTH",
    "RESOURCE_KIND_MAX_LENGTH",
    "RESOURCE_NAME_MAX_LENGTH",
    "ExpiryReminder",
    "LeakReport",
    "Resource",
    "RevealPolicy",
    "RevokeReason",
    "RotationGrace",
    "Token",
    "TokenKind",
    "TokenQuerySet",
    "TokenStatus",
    "WorkspacePolicy",
    "active_q",
    "in_grace_q",
    "lifecycle_status",
    "revoked_q",
    "visible_q",
]
