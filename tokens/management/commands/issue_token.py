"""Issue a token from the command line and print its secret once."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import query_params
from accounts.command_output import stdout_to_stderr
from accounts.models import User, Workspace
from accounts.models.users import normalize_email
from tokens import services
from tokens.actors import Actor
from tokens.models import Token, TokenKind


def _days(value: str) -> int:
    days = query_params.days(value)
    if days is None:
        raise argparse.ArgumentTypeError(f"takes {query_params.DAYS_WANTED}")
    return days


def _as_json(token: Token, secret: str) -> str:
    return json.dumps(
        {
            "id": token.public_id,
            "name": token.name,
            "workspace": token.workspace.slug,
            "scopes": list(token.scopes),
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "token": secret,
        }
    )


class Command(BaseCommand):
    help = (
        "Create a workspace token and print its secret (shown this once only): stdout holds "
        "the secret alone, or JSON with --format json; everything else goes to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--scopes",
            required=True,
            help="Comma-separated scopes, e.g. tokens:read,workspace:read.",
        )
        parser.add_argument(
            "--expires-in", type=_days, metavar="DAYS", help="Days until it expires."
        )
        parser.add_argument("--allowed-ips", default="", help="Comma-separated CIDR ranges.")
        parser.add_argument(
            "--operator", help="Email of the operator to record as the actor (default: system)."
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        actor = Actor.system("manage.py issue_token")
        if options["operator"]:
            user = User.objects.filter(email=normalize_email(options["operator"])).first()
            if user is None:
                raise CommandError(f"No user {options['operator']!r}.")
            actor = Actor.operator(user)
        expires_at = None
        if options["expires_in"] is not None:
            expires_at = timezone.now() + timedelta(days=options["expires_in"])
        try:
            with stdout_to_stderr():  # the "token created" email, with the console backend
                token, secret = services.token_create(
                    actor=actor,
                    workspace=workspace,
                    name=options["name"],
                    description=options["description"],
                    kind=TokenKind.WORKSPACE,
                    scopes=[s.strip() for s in options["scopes"].split(",") if s.strip()],
                    allowed_ips=options["allowed_ips"],
                    expires_at=expires_at,
                )
        except (ValidationError, PermissionDenied) as error:
            messages = error.messages if isinstance(error, ValidationError) else [str(error)]
            raise CommandError(" ".join(messages)) from None
        self.stderr.write(
            f"Created {token.public_id} ({token.name}) in {workspace.slug}; "
            "the secret is shown this once only."
        )
        self.stdout.write(_as_json(token, secret) if options["format"] == "json" else secret)
