"""Fixtures for the tokens tests: actors, a token factory, a movable clock and a fresh limiter."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership, User, Workspace
from tokens import services
from tokens.actors import Actor
from tokens.api import failure_limiter
from tokens.models import Token


@pytest.fixture(autouse=True)
def _fresh_failure_limiter():
    """Give every test a new per-process limiter built from the current settings."""
    failure_limiter.cache_clear()
    yield
    failure_limiter.cache_clear()


def actor_of(user: User, workspace: Workspace) -> Actor:
    """Return the console actor for `user`'s membership of `workspace`."""
    membership = Membership.objects.select_related("user").get(user=user, workspace=workspace)
    return Actor.member(membership)


def issue(
    user: User,
    workspace: Workspace,
    *,
    name: str = "ci",
    scopes=("tokens:read",),
    **fields,
) -> tuple[Token, str]:
    """Create a token through the service as `user` and return it with its secret."""
    return services.token_create(
        actor=actor_of(user, workspace), workspace=workspace, name=name, scopes=scopes, **fields
    )


class Clock:
    """A settable `timezone.now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Freeze django.utils.timezone.now at the real now; tests move it forward."""
    fixed = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", fixed)
    return fixed
