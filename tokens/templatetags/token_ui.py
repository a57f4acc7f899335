"""Template helpers for the Tokens tab."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils import timezone

from tokens import rules
from tokens import scopes as scope_catalogue

register = template.Library()

SOON = timedelta(days=7)


@register.filter
def may_manage(actor, token) -> bool:
    """Return whether the actor may rename or rotate the token."""
    return rules.may_manage(actor, token)


@register.filter
def may_revoke(actor, token) -> bool:
    """Return whether the actor may revoke the token."""
    return rules.may_revoke(actor, token)


@register.filter
def may_reveal(actor, token) -> bool:
    """Return whether the actor may see the token's stored value (retrievable policy)."""
    return rules.may_reveal(actor, token)


@register.filter
def scopes_in_words(scope_names) -> str:
    """Return a token's scopes as a preset's name, or their descriptions."""
    names = set(scope_names or ())
    for preset in scope_catalogue.presets():
        if names == set(preset.scopes):
            return preset.label
    labels = [scope.label for name, scope in scope_catalogue.catalogue().items() if name in names]
    return ", ".join(labels) or "No scopes"


ACTION_WORDS = {
    "token.created": "Created",
    "token.renamed": "Renamed",
    "token.rotated": "Rotated",
    "token.revoked": "Revoked",
    "token.auth_failed": "Refused a request with",
    "token.revealed": "Revealed",
}


@register.filter
def action_words(action: str) -> str:
    """Return an audit action in words for the console."""
    return ACTION_WORDS.get(action, action.replace("token.", "").replace("_", " ").capitalize())


@register.filter
def expires_soon(moment) -> bool:
    """Return whether `moment` is in the future but within 7 days."""
    if moment is None:
        return False
    now = timezone.now()
    return now < moment <= now + SOON
