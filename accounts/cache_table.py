"""Create the database cache's table whenever `migrate` runs: the default cache needs no set-up."""

from __future__ import annotations

from django.core.management import call_command


def create_cache_table(sender, using: str, verbosity: int = 1, **kwargs) -> None:
    """Run createcachetable on the migrated database: a no-op unless a cache is a database cache.

    A post_migrate receiver rather than a migration, so a table named after the
    first migrate (a cache configured later, or renamed) is made by the next one.
    """
    call_command("createcachetable", database=using, verbosity=verbosity)
