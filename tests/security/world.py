"""Build the two workspaces the attacks run against, and compare what the database holds."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction

from accounts.models import Invitation, Membership, User, Workspace
from accounts.roles import Role
from tests.conftest import make_member
from tests.factories import actor_of, issue
from tokens import services
from tokens.models import Resource, Token, TokenKind
from tokens.services.resources import resource_create

# Fields a refused request may still touch: a token's use is recorded when it
# authenticates, whatever the endpoint then answers; signing in stamps last_login.
VOLATILE_FIELDS = {
    "tokens.token": {"last_used_at", "last_used_ip", "last_used_user_agent"},
    "accounts.user": {"last_login"},
}
# A refused request may leave a trace of the refusal itself, never anything else.
REFUSAL_TRACES = {"token.auth_failed"}
SNAPSHOT_APPS = ("accounts", "tokens", "admin")


@dataclass
class Side:
    """One workspace with an object of each kind that URLs name."""

    workspace: Workspace
    admin: User
    token: Token
    secret: str
    resource: Resource
    membership: Membership
    invitation: Invitation
    tokens_by_scope: dict[str, tuple[Token, str]] = field(default_factory=dict)


@dataclass
class World:
    """Acme (the attacked workspace, with a user of each role) and Globex (the attacker's)."""

    acme: Side
    globex: Side
    manager: User
    member: User
    operator: User
    personal_secret: str
    revoked_secret: str
    baseline: dict = field(default_factory=dict)  # snapshot() once the world is built


def _side(workspace: Workspace, admin: User, member: User, scopes_sets: dict) -> Side:
    token, secret = issue(admin, workspace, "target", scopes=("tokens:write",))
    resource = resource_create(
        actor=actor_of(admin, workspace), workspace=workspace, name=f"{workspace.slug}-db"
    )
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=f"invitee@{workspace.slug}.test",
        role=Role.MEMBER,
        invited_by=admin,
    )
    side = Side(
        workspace=workspace,
        admin=admin,
        token=token,
        secret=secret,
        resource=resource,
        membership=Membership.objects.get(user=member, workspace=workspace),
        invitation=invitation,
    )
    for label, scopes in scopes_sets.items():
        side.tokens_by_scope[label] = issue(admin, workspace, f"api-{label}", scopes=scopes)
    return side


def build_world(scopes_sets: dict[str, tuple[str, ...]] | None = None) -> World:
    """Create both workspaces, their people, tokens, resources and invitations."""
    scopes_sets = scopes_sets or {}
    acme = Workspace.objects.create(name="Acme", slug="acme")
    globex = Workspace.objects.create(name="Globex", slug="globex")
    admin = make_member(acme, "admin@example.com", Role.ADMIN)
    manager = make_member(acme, "manager@example.com", Role.MANAGER)
    member = make_member(acme, "member@example.com", Role.MEMBER)
    outsider = make_member(globex, "outsider@example.com", Role.ADMIN)
    globex_member = make_member(globex, "globex-member@example.com", Role.MEMBER)
    operator = User.objects.create_superuser("operator@example.com", "operator-password")
    _, personal_secret = issue(
        member, acme, "member-own", scopes=("tokens:read",), kind=TokenKind.PERSONAL
    )
    revoked, revoked_secret = issue(admin, acme, "revoked", scopes=("tokens:read",))
    services.token_revoke(actor=actor_of(admin, acme), token=revoked)
    return World(
        acme=_side(acme, admin, member, scopes_sets),
        globex=_side(globex, outsider, globex_member, scopes_sets),
        manager=manager,
        member=member,
        operator=operator,
        personal_secret=personal_secret,
        revoked_secret=revoked_secret,
    )


def snapshot() -> dict[str, list[tuple]]:
    """Return every row the product stores, minus what a refused request may touch."""
    rows: dict[str, list[tuple]] = {}
    for app in SNAPSHOT_APPS:
        for model in apps.get_app_config(app).get_models():
            label = model._meta.label_lower
            skip = VOLATILE_FIELDS.get(label, set())
            names = [f.attname for f in model._meta.concrete_fields if f.attname not in skip]
            queryset = model.objects.all()
            if label == "accounts.auditevent":
                queryset = queryset.exclude(action__in=REFUSAL_TRACES)
            rows[label] = [
                tuple(map(repr, row)) for row in queryset.order_by("pk").values_list(*names)
            ]
            for m2m in model._meta.many_to_many:
                through = m2m.remote_field.through
                rows[through._meta.label_lower] = sorted(map(repr, through.objects.values_list()))
    return rows


def changes(before: dict, after: dict) -> list[str]:
    """Return the tables whose rows differ between two snapshots."""
    return [table for table in before if before[table] != after.get(table)]


@contextmanager
def rolled_back():
    """Run a request in a savepoint that is undone, so each cell starts from the same world."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def shared_world(scopes_sets: dict[str, tuple[str, ...]] | None = None):
    """Return a fixture giving each test of a module one world, built once and committed.

    Each test still runs in its own transaction (ask for `db` beside it) and
    every request in a rolled-back savepoint, so the world never changes; the
    module's end flushes it away. Tests must not change the world's objects.
    """

    @pytest.fixture(scope="module")
    def world(django_db_setup, django_db_blocker) -> World:
        with django_db_blocker.unblock():
            built = build_world(scopes_sets)
            built.baseline = snapshot()
        yield built
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)

    return world
