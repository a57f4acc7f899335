"""Put a token's limits into its lookup row and their enforcement into the API; carry them on."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.locks import lock_workspace
from gateway import (
    limit_api,
    limit_ceilings,
    limit_create,
    limit_rows,
    limit_services,
    limit_spec,
    limits,
)
from gateway.limit_models import TokenLimits
from tokens.api import register_admission, register_token_limits
from tokens.auth import register_lookup_column
from tokens.models import Token
from tokens.rows import register_row_extra
from tokens.views.tokens import register_create_section

register_lookup_column(limit_spec.LOOKUP_NAME, limit_spec.lookup_expression)
register_admission(limits.admit)
register_token_limits(read=limit_api.read, write=limit_api.write)
register_row_extra(limit_rows.row_extra)
register_create_section(limit_create.LimitsSection())


@receiver(post_save, sender=Token)
def _token_issued(sender, instance: Token, created: bool, raw: bool = False, **kwargs) -> None:
    # In the issuing transaction: a rotated token keeps its predecessor's limits (or rotating
    # would lift them); a new one gets the workspace's defaults (or ceilings). Callers may
    # then change them.
    if not created or raw:
        return
    # Under the lock a ceiling's save holds: issued meanwhile, the token waits and gets the
    # new policy; issued first, the save waits for it and caps it. (The token's foreign key
    # to its workspace, checked at commit on PostgreSQL, locks nothing before then.)
    if transaction.get_connection().in_atomic_block:  # else the token is committed already
        lock_workspace(instance.workspace_id)
    if instance.rotated_from_id is not None:
        row = TokenLimits.objects.filter(token_id=instance.rotated_from_id).first()
        # Under a ceiling set since, the successor is held to it (an unlimited predecessor's
        # gets the ceiling).
        policy = limit_services.limit_policy(instance.workspace_id)
        kept = limit_spec.of_row(row)
        if policy is not None:
            kept = limit_ceilings.capped(kept, policy)
        limit_services.give_limits(instance, kept)
        if kept is not None and kept.quota is not None:
            limits.carry_quota(instance.rotated_from_id, instance.pk, kept)
    else:
        limit_services.give_limits(instance, limit_services.default_limits(instance.workspace_id))
