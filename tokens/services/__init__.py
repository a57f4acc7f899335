"""The tokens app's actions: the interface every door (console, API, admin, commands) calls.

`tokens.services.tokens` creates, rotates, revokes and finds tokens;
`tokens.services.resources` and `tokens.services.policies` manage a
workspace's resources and token policies. Later apps import these, not the
modules' private helpers.
"""

from tokens.services.tokens import (
    GRACE_PERIODS,
    LeakMatch,
    ended_copies_erase,
    personal_tokens_revoke,
    secrets_look_valid,
    token_check,
    token_create,
    token_find_by_value,
    token_for,
    token_rename,
    token_reveal,
    token_revoke,
    token_revoke_as_leaked,
    token_rotate,
    token_rotation_expiry,
    tokens_revoke_leaked,
    tokens_visible_to,
    workspace_policy,
)

__all__ = [
    "GRACE_PERIODS",
    "LeakMatch",
    "ended_copies_erase",
    "personal_tokens_revoke",
    "secrets_look_valid",
    "token_check",
    "token_create",
    "token_find_by_value",
    "token_for",
    "token_rename",
    "token_reveal",
    "token_revoke",
    "token_revoke_as_leaked",
    "token_rotate",
    "token_rotation_expiry",
    "tokens_revoke_leaked",
    "tokens_visible_to",
    "workspace_policy",
]
