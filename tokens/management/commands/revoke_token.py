"""Revoke a token named by its public id or by its secret value."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.command_output import stdout_to_stderr
from tokens import services
from tokens.actors import Actor
from tokens.models import RevokeReason, Token


class Command(BaseCommand):
    help = "Revoke a token at once, given its public id (tok_…) or its value (kww_…/kwp_…)."

    def add_arguments(self, parser):
        parser.add_argument("token", help="The token's public id or its secret value.")
        parser.add_argument(
            "--reason",
            default=RevokeReason.OPERATOR,
            choices=[RevokeReason.OPERATOR, RevokeReason.LEAK],
            help="leak: revoke as leaked and email its owner or creator and the Admins.",
        )

    def handle(self, *args, **options):
        given = options["token"].strip()
        token = services.token_find_by_value(given)
        if token is None:
            token = Token.objects.select_related("workspace").filter(public_id=given).first()
        if token is None:
            raise CommandError("No such token.")
        named = f"{token.public_id} ({token.name}, workspace {token.workspace.slug})"
        with stdout_to_stderr():  # the leak emails, with the console backend
            outcome = self._revoke(token, options["reason"])
        self.stdout.write(f"{named} {outcome}")

    def _revoke(self, token: Token, reason: str) -> str:
        """Revoke `token` for `reason`; return what changed, in words."""
        actor = Actor.system("manage.py revoke_token")
        if reason == RevokeReason.LEAK:
            return services.token_revoke_as_leaked(actor=actor, token=token).outcome()
        was_active, revoked_before = token.is_active, token.revoked_at
        token = services.token_revoke(actor=actor, token=token, reason=reason)
        if token.revoked_at == revoked_before:
            return "was already revoked; nothing changed."
        return "revoked." if was_active else "had expired; now it is revoked too."
