"""Create the demo workspace and users; running it again changes nothing new."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from accounts.signals import demo_seeded

DEMO_USERS = [
    ("admin@example.com", "Ada Admin", Role.ADMIN),
    ("manager@example.com", "Max Manager", Role.MANAGER),
    ("member@example.com", "Mia Member", Role.MEMBER),
]
OPERATOR_EMAIL = "operator@example.com"


class Command(BaseCommand):
    help = "Create the demo workspace Acme with an Admin, a Manager, a Member and an operator."

    def handle(self, *args, **options) -> None:
        password = os.environ.get("DEMO_PASSWORD") or "keyward-demo"
        # Emails about the demo tokens go out when the transaction commits; print the
        # sign-in details after them, where they are seen.
        self._seed(password)
        self.stdout.write(self.style.SUCCESS("Demo ready: workspace Acme (/w/acme/)."))
        for email, _, role in DEMO_USERS:
            self.stdout.write(f"  {email:<24} {role.label:<8} password: {password}")
        self.stdout.write(f"  {OPERATOR_EMAIL:<24} operator password: {password} (/admin/)")

    @transaction.atomic
    def _seed(self, password: str) -> None:
        workspace, _ = Workspace.objects.get_or_create(slug="acme", defaults={"name": "Acme"})
        users = {}
        for email, full_name, role in DEMO_USERS:
            users[role] = self._user(email, full_name, password)
            Membership.objects.update_or_create(
                user=users[role], workspace=workspace, defaults={"role": role}
            )
        operator = self._user(OPERATOR_EMAIL, "Olga Operator", password)
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
