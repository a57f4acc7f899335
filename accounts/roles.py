"""Define the workspace roles and their order."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    """A member's role in a workspace, from most to least powerful."""

    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    MEMBER = "member", "Member"

    @property
    def rank(self) -> int:
        """Return a number that grows with the role's power."""
        return _RANKS[self]

    def at_least(self, other: Role | str) -> bool:
        """Return whether this role is as powerful as `other` or more."""
        return self.rank >= Role(other).rank


_RANKS = {Role.MEMBER: 1, Role.MANAGER: 2, Role.ADMIN: 3}
