"""Re-export the tokens models."""

from tokens.models.policies import RevealPolicy, WorkspacePolicy
from tokens.models.resources import Resource
from tokens.models.tokens import RevokeReason, Token, TokenKind, TokenQuerySet, TokenStatus

__all__ = [
    "Resource",
    "RevealPolicy",
    "RevokeReason",
    "Token",
    "TokenKind",
    "TokenQuerySet",
    "TokenStatus",
    "WorkspacePolicy",
]
