"""Create the demo workspace and users; running it again changes nothing new."""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.command_output import stdout_to_stderr
from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from accounts.signals import demo_seeded

DEMO_USERS = [
    ("admin@example.com", "Ada Admin", Role.ADMIN),
    ("manager@example.com", "Max Manager", Role.MANAGER),
    ("member@example.com", "Mia Member", Role.MEMBER),
]
OPERATOR_EMAIL = "operator@example.com"
DEFAULT_PASSWORD = "keyward-demo"  # noqa: S105 -- the demo's published password, never an operator's


class Command(BaseCommand):
    help = (
        "Create the demo workspace Acme with an Admin, a Manager, a Member and an operator "
        "(development only: refused without DEBUG unless --force)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though DEBUG is off, for a demo server. Never on a real deployment.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with published passwords and an operator; it runs "
                "only with DEBUG=1. Use --force for a throwaway demo server."
            )
        chosen = os.environ.get("DEMO_PASSWORD", "")
        password = chosen or DEFAULT_PASSWORD
        # A superuser never gets the published password: without DEMO_PASSWORD it gets a
        # fresh random one, printed below.
        operator_password = chosen or secrets.token_urlsafe(12)
        with stdout_to_stderr():  # the demo tokens' emails, with the console backend
            self._seed(password, operator_password)
        self.stdout.write(self.style.SUCCESS("Demo ready: workspace Acme (/w/acme/)."))
        for email, _, role in DEMO_USERS:
            self.stdout.write(f"  {email:<24} {role.label:<8} password: {password}")
        self.stdout.write(
            f"  {OPERATOR_EMAIL:<24} operator password: {operator_password} (/admin/)"
        )

    @transaction.atomic
    def _seed(self, password: str, operator_password: str) -> None:
        workspace, _ = Workspace.objects.get_or_create(slug="acme", defaults={"name": "Acme"})
        users = {}
        for email, full_name, role in DEMO_USERS:
            users[role] = self._user(email, full_name, password)
            Membership.objects.update_or_create(
                user=users[role], workspace=workspace, defaults={"role": role}
            )
        operator = self._user(OPERATOR_EMAIL, "Olga Operator", operator_password)
        if not (operator.is_staff and operator.is_superuser):
            operator.is_staff = operator.is_superuser = True
            operator.save(update_fields=["is_staff", "is_superuser"])
        demo_seeded.send(sender=self.__class__, workspace=workspace, users=users)

    def _user(self, email: str, full_name: str, password: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            return User.objects.create_user(email, password, full_name=full_name)
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        return user
