"""Say who performs a token action: a member in the console, a token through the API,
an operator in Django admin, or the system reacting to an event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accounts.models import Membership, User
from accounts.roles import Role

if TYPE_CHECKING:
    from tokens.auth import TokenPrincipal


@dataclass(frozen=True)
class Actor:
    """Someone or something acting on a workspace's tokens.

    `role` is the role whose rules apply; `scope_cap` limits what a token acting
    through the API may grant (None for people); `bypass_rules` is for operators
    and for the system, which act outside any workspace role.
    """

    role: Role
    user: User | None = None
    user_id: int | None = None
    principal: TokenPrincipal | None = None
    scope_cap: frozenset[str] | None = None
    bypass_rules: bool = False
    label: str = ""

    @classmethod
    def member(cls, membership: Membership) -> Actor:
        """Return the actor for a member using the console."""
        return cls(
            role=membership.role_enum,
            user=membership.user,
            user_id=membership.user_id,
            label=membership.user.email,
        )

    @classmethod
    def token(cls, principal: TokenPrincipal) -> Actor:
        """Return the actor for a request authenticated by a token.

        A personal token acts with its owner's role; a workspace token is a
        service identity with a Manager's rules. Both are capped by their scopes.
        """
        return cls(
            role=principal.owner_role or Role.MANAGER,
            user_id=principal.owner_id,
            principal=principal,
            scope_cap=principal.scopes,
            label=f"token {principal.name}",
        )

    @classmethod
    def operator(cls, user: User) -> Actor:
        """Return the actor for an operator in Django admin or a command."""
        return cls(role=Role.ADMIN, user=user, user_id=user.pk, bypass_rules=True, label=user.email)

    @classmethod
    def system(cls, label: str = "Keyward") -> Actor:
        """Return the actor for Keyward itself (leak reports, membership changes)."""
        return cls(role=Role.ADMIN, bypass_rules=True, label=label)

    def audit_actor_fields(self) -> dict[str, Any]:
        """Return the AuditEvent fields that name this actor."""
        if self.principal is not None:
            return {
                "actor_token_id": self.principal.public_id,
                "actor_user_id": self.principal.owner_id,
                "actor_label": self.label,
            }
        return {"actor_user": self.user, "actor_label": self.label or "system"}
