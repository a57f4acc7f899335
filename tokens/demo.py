"""Add realistic tokens and resources to the demo workspace made by `seed_demo`."""

from __future__ import annotations

from datetime import timedelta

from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Role
from accounts.signals import demo_seeded
from tokens import services
from tokens.actors import Actor
from tokens.auth import authenticate_token
from tokens.models import Resource, Token, TokenKind

RESOURCES = [
    ("production-db", "database", "Primary PostgreSQL cluster"),
    ("staging-db", "database", "Staging cluster"),
    ("package-index", "application", "Internal package index"),
]

# name, role of creator, kind, preset scopes, days to expiry (None: never), resources,
# allowed IPs, last use (IP, user agent) or None
TOKENS = [
    (
        "ci-deploy",
        Role.MANAGER,
        TokenKind.WORKSPACE,
        ["workspace:read", "members:read", "tokens:read", "tokens:write"],
        90,
        [],
        [],
        ("140.82.112.4", "GitHub-Actions/2.321"),
    ),
    (
        "k8s-connector",
        Role.ADMIN,
        TokenKind.WORKSPACE,
        ["workspace:read", "tokens:read"],
        None,
        ["production-db"],
        ["10.0.0.0/8"],
        ("10.4.2.17", "keyward-connector/1.4"),
    ),
    (
        "nightly-backup",
        Role.MANAGER,
        TokenKind.WORKSPACE,
        ["workspace:read"],
        5,
        ["production-db", "staging-db"],
        [],
        ("198.51.100.23", "backup-cron/0.9"),
    ),
    (
        "token-auditor",
        Role.ADMIN,
        TokenKind.WORKSPACE,
        ["workspace:read", "tokens:read", "tokens:introspect"],
        30,
        [],
        [],
        None,
    ),
    (
        "mia-laptop",
        Role.MEMBER,
        TokenKind.PERSONAL,
        ["workspace:read", "tokens:read"],
        30,
        [],
        [],
        ("203.0.113.50", "curl/8.5.0"),
    ),
]


@receiver(demo_seeded)
def seed_demo_tokens(sender, workspace, users, **kwargs) -> None:
    """Create the demo resources and tokens once; a second run adds nothing."""
    for name, kind, description in RESOURCES:
        Resource.objects.get_or_create(
            workspace=workspace, name=name, defaults={"kind": kind, "description": description}
        )
    resource_ids = dict(Resource.objects.filter(workspace=workspace).values_list("name", "pk"))
    for name, role, kind, scopes, days, resources, ips, use in TOKENS:
        if Token.objects.filter(workspace=workspace, name=name).exists():
            continue
        membership = Membership.objects.select_related("user").get(
            workspace=workspace, user=users[role]
        )
        _, secret = services.token_create(
            actor=Actor.member(membership),
            workspace=workspace,
            name=name,
            kind=kind,
            scopes=scopes,
            resource_ids=[resource_ids[r] for r in resources],
            allowed_ips=ips,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        if use:  # a real authentication records the last use
            authenticate_token(secret, client_ip=use[0], user_agent=use[1])
    if not Token.objects.filter(workspace=workspace, name="legacy-ci").exists():
        admin = Membership.objects.select_related("user").get(
            workspace=workspace, user=users[Role.ADMIN]
        )
        token, _ = services.token_create(
            actor=Actor.member(admin),
            workspace=workspace,
            name="legacy-ci",
            scopes=["workspace:read", "tokens:read"],
            expires_at=timezone.now() + timedelta(days=60),
        )
        services.token_revoke(actor=Actor.member(admin), token=token)
