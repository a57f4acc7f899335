"""Move buffered usage counts to the database and prune old rows; safe to run concurrently."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gateway import rollups


class Command(BaseCommand):
    help = (
        "Move the usage counted in Redis to the usage tables (per minute, hour and day) and "
        "delete rows older than their retention. Idempotent; two at once never double count."
    )

    def handle(self, *args, **options) -> None:
        result = rollups.flush()
        self.stdout.write(
            f"Flushed {result.minutes} minute(s) into {result.rows} row(s); "
            f"{result.new_ips} new client IP(s); pruned {result.pruned} row(s)."
        )
