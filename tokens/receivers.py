"""Revoke personal tokens when accounts announces a membership change or a deactivation."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.models import Membership, User
from accounts.signals import membership_removed, membership_role_changed, user_deactivated
from tokens import scopes
from tokens.actors import Actor
from tokens.models import RevokeReason
from tokens.services import personal_tokens_revoke


def _system_actor(actor) -> Actor:
    return Actor.operator(actor) if actor is not None else Actor.system()


@receiver(membership_removed, sender=Membership)
def revoke_tokens_of_removed_member(sender, membership, actor=None, request=None, **kwargs):
    """Revoke every personal token the removed member held in that workspace."""
    personal_tokens_revoke(
        workspace_id=membership.workspace_id,
        user_id=membership.user_id,
        reason=RevokeReason.MEMBER_REMOVED,
        actor=_system_actor(actor),
        request=request,
    )


@receiver(membership_role_changed, sender=Membership)
def revoke_tokens_beyond_new_role(sender, membership, old_role, actor=None, request=None, **kwargs):
    """Revoke the member's personal tokens whose scopes the new role may not grant."""
    personal_tokens_revoke(
        workspace_id=membership.workspace_id,
        user_id=membership.user_id,
        reason=RevokeReason.ROLE_CHANGED,
        actor=_system_actor(actor),
        keep_scopes=scopes.grantable_by(membership.role, membership.workspace_id),
        request=request,
    )


@receiver(user_deactivated, sender=User)
def revoke_tokens_of_deactivated_user(sender, user, actor=None, request=None, **kwargs):
    """Revoke every personal token the deactivated user holds, in every workspace.

    Reactivating the account does not bring them back: the person makes new ones.
    """
    personal_tokens_revoke(
        workspace_id=None,
        user_id=user.pk,
        reason=RevokeReason.OWNER_DEACTIVATED,
        actor=_system_actor(actor),
        request=request,
    )
