"""Re-encrypt stored token copies with the newest key, so older keys can be retired."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

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
        count = lost = failed = 0
        tokens = Token.objects.exclude(encrypted_secret="").only(
            "pk", "public_id", "encrypted_secret"
        )
        with transaction.atomic():
            for token in tokens.select_for_update().iterator(chunk_size=500):
                try:
                    with transaction.atomic():  # a savepoint: one failure leaves the rest going
                        token.encrypted_secret = vault.reencrypt(token.encrypted_secret)
                        token.save(update_fields=["encrypted_secret"])
                except vault.SecretUnavailable:
                    lost += 1
                    continue
                except Exception:
                    logger.exception("Could not re-encrypt the copy of token %s.", token.public_id)
                    failed += 1
                    continue
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} stored token copies."))
        if erased:
            self.stdout.write(f"Erased the copies of {erased} tokens that no longer work.")
        problems = []
        if lost:
            problems.append(
                f"{lost} copies were encrypted with a key that is no longer configured; "
                "they cannot be revealed. Put the old key back (after the new one) and run again."
            )
        if failed:
            problems.append(f"{failed} copies could not be re-encrypted; see the log.")
        if problems:
            # After the whole batch, so that one bad copy never stops the others.
            raise CommandError(" ".join(problems))
