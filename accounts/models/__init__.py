"""Re-export the accounts models."""

from accounts.models.audit import AuditEvent
from accounts.models.invitations import Invitation
from accounts.models.passkeys import Passkey
from accounts.models.users import User
from accounts.models.workspaces import Membership, Workspace

__all__ = ["AuditEvent", "Invitation", "Membership", "Passkey", "User", "Workspace"]
