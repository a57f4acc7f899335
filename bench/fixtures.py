"""Make the data the benchmarks run against."""

from __future__ import annotations

from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from tokens import services
from tokens.actors import Actor


def bench_workspace() -> tuple[Workspace, Membership]:
    """Return a workspace with an Admin for the benchmarks."""
    workspace = Workspace.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("bench@example.com", "bench-password")
    membership = Membership.objects.create(user=user, workspace=workspace, role=Role.ADMIN)
    return workspace, membership


def bench_token() -> str:
    """Return the secret of a workspace token in a fresh bench workspace."""
    workspace, membership = bench_workspace()
    _, secret = services.token_create(
        actor=Actor.member(membership),
        workspace=workspace,
        name="bench",
        scopes=["tokens:read", "workspace:read"],
    )
    return secret
