"""Re-export the accounts models."""

from accounts.models.audit import AuditEvent
from accounts.models.factors import RecoveryCode, TotpDevice
from accounts.models.invitations import Invitation
from accounts.models.passkeys import Passkey
from accounts.models.sso import WorkspaceSingleSignOn
from accounts.models.users import User
from accounts.models.workspaces import Membership, TwoFactorPolicy, Workspace

__all__ = [
    "AuditEvent",
    "Invitation",
    "Membership",
    "Passkey",
    "RecoveryCode",
    "TotpDevice",
    "TwoFactorPolicy",
    "User",
    "Workspace",
    "WorkspaceSingleSignOn",
]
