"""Decide what an actor may do with a workspace's tokens.

Services enforce these; templates ask them only to decide which buttons to show.
"""

from __future__ import annotations

from accounts.permissions import LOWEST_ROLE, Perm
from accounts.roles import Role
from tokens import scopes as scope_catalogue
from tokens.actors import Actor
from tokens.models import Token, TokenKind, WorkspacePolicy


def sees_all_tokens(actor: Actor) -> bool:
    """Return whether the actor may list every token, others' personal tokens included."""
    return actor.bypass_rules or actor.role.at_least(Role.MANAGER)


def may_view(actor: Actor, token: Token) -> bool:
    """Return whether the actor may see the token's metadata."""
    return (
        sees_all_tokens(actor)
        or token.kind == TokenKind.WORKSPACE
        or token.owner_id == actor.user_id
    )


def may_read_audit(actor: Actor) -> bool:
    """Return whether the actor may read audit events, with where people acted from."""
    return actor.bypass_rules or actor.role.at_least(LOWEST_ROLE[Perm.AUDIT_VIEW])


def may_see_events(actor: Actor, token: Token) -> bool:
    """Return whether the actor may read the token's audit events.

    Those who read the audit log, and a Member for their own personal token
    (without the addresses others acted from: see may_read_audit).
    """
    return may_read_audit(actor) or (
        token.kind == TokenKind.PERSONAL and token.owner_id == actor.user_id
    )


def may_create(actor: Actor, kind: str, policy: WorkspacePolicy) -> bool:
    """Return whether the actor may create a token of `kind`."""
    if actor.bypass_rules:
        return True
    if kind == TokenKind.WORKSPACE:
        return actor.role.at_least(Role.MANAGER)
    if actor.user_id is None:  # a workspace token has no person to own a personal token
        return False
    return actor.role.at_least(Role.MANAGER) or policy.members_may_create_personal


def may_manage(actor: Actor, token: Token) -> bool:
    """Return whether the actor may rename or rotate the token."""
    if actor.bypass_rules:
        return True
    if token.kind == TokenKind.WORKSPACE:
        return actor.role.at_least(Role.MANAGER)
    return token.owner_id is not None and token.owner_id == actor.user_id


def may_revoke(actor: Actor, token: Token) -> bool:
    """Return whether the actor may revoke the token; Admins may revoke anyone's."""
    return may_manage(actor, token) or actor.role == Role.ADMIN


def may_reveal(actor: Actor, token: Token) -> bool:
    """Return whether the actor may see a stored token's value (retrievable policy).

    Those who may rename or rotate it; operators never see a secret.
    """
    return actor.user_id is not None and not actor.bypass_rules and may_manage(actor, token)


def may_check_values(actor: Actor) -> bool:
    """Return whether the actor may look up a pasted token value ("Check a token")."""
    return actor.bypass_rules or actor.role.at_least(Role.MANAGER)


def grantable_scopes(actor: Actor) -> set[str]:
    """Return the scopes the actor may put on a token."""
    allowed = scope_catalogue.grantable_by(actor.role)
    if actor.scope_cap is not None:
        allowed &= actor.scope_cap
    return allowed


def may_create_any(actor: Actor, policy: WorkspacePolicy) -> bool:
    """Return whether the actor may create a token of some kind (shows "Add token")."""
    return any(may_create(actor, kind, policy) for kind in TokenKind.values)
