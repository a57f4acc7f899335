"""Decide what an actor may do with a workspace's tokens.

Every role decision here asks `allows`, which reads the one permission table of
`accounts.permissions`; these functions add only what depends on the token (its
kind, its owner) or the policy. Services enforce them; templates ask them only
to decide which buttons to show.
"""

from __future__ import annotations

from accounts.permissions import Perm, role_has_perm
from tokens import scopes as scope_catalogue
from tokens.actors import Actor
from tokens.models import Token, TokenKind, WorkspacePolicy


def allows(actor: Actor, perm: Perm) -> bool:
    """Return whether the actor holds `perm`; operators and the system hold every one."""
    return actor.bypass_rules or role_has_perm(actor.role, perm)


def sees_all_tokens(actor: Actor) -> bool:
    """Return whether the actor may list every token, others' personal tokens included."""
    return allows(actor, Perm.TOKENS_VIEW_ALL)


def may_read_audit(actor: Actor) -> bool:
    """Return whether the actor may read audit events, with where people acted from."""
    return allows(actor, Perm.AUDIT_VIEW)


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
    if kind == TokenKind.WORKSPACE:
        return allows(actor, Perm.TOKENS_CREATE_WORKSPACE)
    if actor.bypass_rules:
        return True
    if actor.user_id is None:  # a workspace token has no person to own a personal token
        return False
    return allows(actor, Perm.TOKENS_CREATE_PERSONAL) or policy.members_may_create_personal


def creatable_kinds(actor: Actor, policy: WorkspacePolicy) -> list[str]:
    """Return the kinds of token the actor may create, in the order forms offer them."""
    return [kind for kind in TokenKind.values if may_create(actor, kind, policy)]


def may_create_any(actor: Actor, policy: WorkspacePolicy) -> bool:
    """Return whether the actor may create a token of some kind (shows "Add token")."""
    return bool(creatable_kinds(actor, policy))


def may_manage(actor: Actor, token: Token) -> bool:
    """Return whether the actor may rename or rotate the token."""
    if token.kind == TokenKind.WORKSPACE:
        return allows(actor, Perm.TOKENS_MANAGE_WORKSPACE)
    return actor.bypass_rules or (token.owner_id is not None and token.owner_id == actor.user_id)


def may_revoke(actor: Actor, token: Token) -> bool:
    """Return whether the actor may revoke the token; Admins may revoke anyone's."""
    return may_manage(actor, token) or allows(actor, Perm.TOKENS_REVOKE_ANY)


def may_reveal(actor: Actor, token: Token) -> bool:
    """Return whether the actor may see a stored token's value (retrievable policy).

    Those who may rename or rotate it; operators never see a secret.
    """
    return actor.user_id is not None and not actor.bypass_rules and may_manage(actor, token)


def may_check_values(actor: Actor) -> bool:
    """Return whether the actor may look up a pasted token value ("Check a token")."""
    return allows(actor, Perm.TOKENS_CHECK_VALUES)


def may_manage_resources(actor: Actor) -> bool:
    """Return whether the actor may create, rename and delete the workspace's resources."""
    return allows(actor, Perm.RESOURCES_MANAGE)


def may_manage_policies(actor: Actor) -> bool:
    """Return whether the actor may change the workspace's token policies."""
    return allows(actor, Perm.POLICIES_MANAGE)


def grantable_scopes(actor: Actor, workspace_id: int | None = None) -> set[str]:
    """Return the scopes the actor may put on a token (of the workspace, with its own)."""
    allowed = scope_catalogue.grantable_by(actor.role, workspace_id)
    if actor.scope_cap is not None:
        allowed &= actor.scope_cap
    return allowed
