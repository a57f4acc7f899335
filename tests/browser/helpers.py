"""What the browser tests share: the modal, a no-reload marker, console errors, tokens."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from accounts.models import Membership, User, Workspace
from tokens import services
from tokens.actors import Actor
from tokens.models import Token


def dialog(page: Page) -> Locator:
    """Return the console's one modal dialog."""
    return page.locator("dialog#modal")


def mark_document(page: Page) -> None:
    """Leave a marker on `window` that a full page load would wipe."""
    page.evaluate("window.__keywardNoReload = true")


def assert_not_reloaded(page: Page) -> None:
    """Fail if the page was loaded again since mark_document."""
    assert page.evaluate("window.__keywardNoReload === true"), "the page was reloaded"


def watch_console(page: Page) -> list[str]:
    """Return a list that collects the page's console errors from now on."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def actor_of(user: User, workspace: Workspace) -> Actor:
    """Return `user` acting in `workspace`, as the console would."""
    return Actor.member(
        Membership.objects.select_related("user").get(user=user, workspace=workspace)
    )


def issue(user: User, workspace: Workspace, name: str, **fields) -> tuple[Token, str]:
    """Create a token (a workspace one unless `kind=` says) as `user`; return it and its secret."""
    fields.setdefault("scopes", ["tokens:read"])
    return services.token_create(
        actor=actor_of(user, workspace), workspace=workspace, name=name, **fields
    )
