"""Build what tests need through the real services: actors, tokens, signed-in clients."""

from __future__ import annotations

import json
import time

from django.test import Client

from accounts import sudo
from accounts.models import Membership, User, Workspace
from tokens import services
from tokens.actors import Actor
from tokens.models import Token

# Extra request headers that make the test client's request look like HTMX's.
HTMX = {"HTTP_HX_REQUEST": "true"}


def actor_of(user: User, workspace: Workspace) -> Actor:
    """Return the console actor for `user`'s membership of `workspace`."""
    membership = Membership.objects.select_related("user").get(user=user, workspace=workspace)
    return Actor.member(membership)


def issue(
    user: User,
    workspace: Workspace,
    name: str = "ci",
    *,
    scopes=("tokens:read",),
    **fields,
) -> tuple[Token, str]:
    """Create a token (a workspace one unless `kind=` says) as `user`; return it and its secret."""
    return services.token_create(
        actor=actor_of(user, workspace), workspace=workspace, name=name, scopes=scopes, **fields
    )


def signed_in(user: User, **kwargs) -> Client:
    """Return a new test client signed in as `user`."""
    client = Client(**kwargs)
    client.force_login(user)
    return client


def triggers(response) -> dict:
    """Return the events of the response's HX-Trigger header."""
    return json.loads(response["HX-Trigger"])


def stamp_sudo(client: Client, seconds_ago: float = 0) -> Client:
    """Write the sudo-mode stamp into the client's session, as if confirmed `seconds_ago`."""
    session = client.session
    session[sudo.SESSION_KEY] = time.time() - seconds_ago
    session.save()
    return client
