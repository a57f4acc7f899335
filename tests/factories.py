"""Build what tests need through the real services: actors, tokens, signed-in clients."""

from __future__ import annotations

import json
import time

from django.test import Client
from django.urls import reverse

from accounts import sudo
from accounts.models import Membership, User, Workspace
from tests.authenticator import SoftAuthenticator
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


# Passkeys through the views, as static/js/passkeys.js drives them --------------------------


def post_json(client: Client, name: str, body) -> object:
    """POST `body` as JSON to the URL named `name`."""
    return client.post(reverse(name), json.dumps(body), content_type="application/json")


def add_passkey(client: Client, name="Laptop", authenticator=None) -> SoftAuthenticator:
    """Add a passkey through the views, as static/js/passkeys.js does; return its authenticator.

    Adding one takes sudo mode: it is on for the ceremony, then off again, so
    that tests of sudo mode start from a prompt.
    """
    authenticator = authenticator or SoftAuthenticator()
    stamp_sudo(client)
    options = client.post(reverse("accounts:passkey_add_options"), {"name": name}).json()
    answer = authenticator.create(options)
    response = post_json(client, "accounts:passkey_add", {"name": name, "credential": answer})
    assert response.status_code == 200, response.content
    session = client.session
    del session[sudo.SESSION_KEY]
    session.save()
    return authenticator


def confirm_with(client: Client, authenticator: SoftAuthenticator, **spoil):
    """Start sudo mode with `authenticator`'s passkey (what "Use a passkey instead" posts)."""
    options = client.post(reverse("accounts:passkey_sudo_options")).json()
    return post_json(
        client, "accounts:passkey_sudo", {"credential": authenticator.get(options, **spoil)}
    )
