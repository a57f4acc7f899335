"""Revoke a token named by its public id or by its secret value."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tokens import secrets, services
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
        )

    def handle(self, *args, **options):
        given = options["token"].strip()
        parser = secrets.TokenParser(settings.KEYWARD_TOKEN_PREFIX)
        if parser.parse(given):
            token = Token.objects.filter(digest=secrets.digest(given)).first()
        else:
            token = Token.objects.filter(public_id=given).first()
        if token is None:
            raise CommandError("No such token.")
        was_active = token.is_active
        services.token_revoke(
            actor=Actor.system("manage.py revoke_token"), token=token, reason=options["reason"]
        )
        state = "revoked" if was_active else "was already inactive; now marked revoked"
        self.stdout.write(
            f"{token.public_id} ({token.name}, workspace {token.workspace.slug}) {state}."
        )
