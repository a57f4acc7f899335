"""Make the data the benchmarks run against."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from tokens import secrets, services
from tokens.actors import Actor
from tokens.models import Token, TokenKind


def bench_workspace(slug: str = "bench") -> tuple[Workspace, Membership]:
    """Return a workspace with an Admin for the benchmarks."""
    workspace = Workspace.objects.create(name=slug.capitalize(), slug=slug)
    user = User.objects.create_user(f"{slug}@example.com", "bench-password")
    membership = Membership.objects.create(user=user, workspace=workspace, role=Role.ADMIN)
    return workspace, membership


def bench_tokens() -> tuple[str, str]:
    """Return the secrets of two workspace tokens in a fresh bench workspace.

    The first reads (whoami), the second may introspect the first.
    """
    workspace, membership = bench_workspace("bench")
    return tuple(
        services.token_create(
            actor=Actor.member(membership), workspace=workspace, name=name, scopes=scopes
        )[1]
        for name, scopes in (
            ("bench", ["tokens:read", "workspace:read"]),
            ("introspector", ["tokens:introspect"]),
        )
    )


def workspace_tokens_in_bulk(workspace, creator, count: int, name: str) -> list[str]:
    """Insert `count` active workspace tokens (in bulk: test data) and return their secrets."""
    prefix = settings.KEYWARD_TOKEN_PREFIX
    values = [secrets.generate(prefix, TokenKind.WORKSPACE) for _ in range(count)]
    Token.objects.bulk_create(
        Token(
            workspace=workspace,
            kind=TokenKind.WORKSPACE,
            created_by=creator,
            name=f"{name}-{i}",
            prefix=secrets.kind_prefix(prefix, TokenKind.WORKSPACE),
            digest=secrets.digest(value),
            last_four=secrets.last_four(value),
            scopes=["tokens:read"],
        )
        for i, value in enumerate(values)
    )
    return values


def bench_workspace_with_tokens(count: int) -> tuple[Workspace, User]:
    """Return a workspace holding `count` tokens (inserted in bulk: this is test data)."""
    workspace, membership = bench_workspace("console")
    now = timezone.now()
    prefix = settings.KEYWARD_TOKEN_PREFIX
    tokens = []
    for i in range(count):
        value = secrets.generate(prefix, TokenKind.WORKSPACE)
        tokens.append(
            Token(
                workspace=workspace,
                kind=TokenKind.WORKSPACE,
                created_by=membership.user,
                name=f"token-{i}",
                prefix=secrets.kind_prefix(prefix, TokenKind.WORKSPACE),
                digest=secrets.digest(value),
                last_four=secrets.last_four(value),
                scopes=["workspace:read", "tokens:read"],
                expires_at=now + timedelta(days=1 + i % 90),
                created_at=now - timedelta(minutes=i),
                last_used_at=now - timedelta(hours=i % 500) if i % 3 else None,
                last_used_ip="203.0.113.7" if i % 3 else None,
            )
        )
    Token.objects.bulk_create(tokens, batch_size=1000)
    _analyze()
    return workspace, membership.user


def _analyze() -> None:
    """Refresh the planner's statistics, as autovacuum would after such a bulk insert."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
