"""Re-encrypt stored token copies with the newest key, so older keys can be retired."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.locks import lock_workspace
from tokens import vault
from tokens.models import Token
from tokens.services import ended_copies_erase

logger = logging.getLogger("keyward.tokens.vault")


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored token copy (retrievable policy) with the first key of "
        "KEYWARD_TOKEN_ENCRYPTION_KEYS. Run after putting a new key first; then drop the old."
    )

    def handle(self, *args, **options):
        if not vault.is_configured():
            problem = vault.key_problem() or "No encryption keys are configured."
            self.stdout.write(f"{problem} Nothing to do.")
            return
        erased = ended_copies_erase()  # no point re-encrypting what can never be revealed
        count = lost = 0
        copies = Token.objects.with_stored_copy()
        workspace_ids = copies.values_list("workspace_id", flat=True).distinct().order_by()
        for workspace_id in sorted(workspace_ids):
            done, failed = _reencrypt_copies_of(workspace_id, copies)
            count, lost = count + done, lost + failed
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} stored token copies."))
        if erased:
            self.stdout.write(f"Erased the copies of {erased} tokens that no longer work.")
        if lost:
            # After the whole batch, so that one bad copy never stops the others.
            raise CommandError(
                f"{lost} copies were encrypted with a key that is no longer configured; "
                "they cannot be revealed. Put the old key back (after the new one) and run again."
            )


def _reencrypt_copies_of(workspace_id: int, copies) -> tuple[int, int]:
    """Re-encrypt one workspace's stored copies; return how many were, and how many could not be.

    One workspace per transaction, locked before its tokens like every writer
    (accounts.locks), so the command never holds one team's tokens while waiting for another's.
    """
    count = lost = 0
    with transaction.atomic():
        lock_workspace(workspace_id)
        tokens = (
            copies.filter(workspace_id=workspace_id)
            .only("pk", "public_id", "encrypted_secret")
            .order_by("pk")
            .select_for_update(of=("self",))
        )
        for token in tokens.iterator(chunk_size=500):
            try:
                token.encrypted_secret = vault.reencrypt(token.encrypted_secret)
            except vault.SecretUnavailable:
                logger.warning("No configured key decrypts the copy of token %s.", token.public_id)
                lost += 1
                continue
            token.save(update_fields=["encrypted_secret"])
            count += 1
    return count, lost
