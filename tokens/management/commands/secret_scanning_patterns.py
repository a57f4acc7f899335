"""Print the regular expressions to register with GitHub secret scanning for this deployment."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tokens.prefixes import scanning_pattern
from tokens.secrets import KIND_LETTERS


class Command(BaseCommand):
    help = (
        "Print each token type and the expression that finds it, under KEYWARD_TOKEN_PREFIX "
        "and every prefix in KEYWARD_TOKEN_PREFIXES_ACCEPTED (see docs/secret-scanning.md)."
    )

    def handle(self, *args, **options):
        for kind in KIND_LETTERS:
            self.stdout.write(f"keyward_{kind}_token\t{scanning_pattern(kind)}")
