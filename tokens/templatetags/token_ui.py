"""Template helpers for the Tokens tab."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from tokens import display, rows, rules

register = template.Library()

register.simple_tag(display.token_url)
register.filter("iso", display.iso)
register.filter("stamp", display.stamp)
register.filter("expires_soon", display.expires_soon)
register.filter("scopes_in_words", display.scopes_in_words)


def _row_page(context, workspace, actor, retrievable: bool) -> rows.RowPage:
    return rows.RowPage(
        slug=workspace.slug,
        actor=actor,
        retrievable=retrievable,
        csrf_token=str(context.get("csrf_token") or ""),
    )


@register.simple_tag(takes_context=True)
def token_rows(context, tokens, *, workspace, actor, retrievable: bool) -> str:
    """Render the table rows of `tokens` in Python (tokens/rows.py), not one template per row.

    {% token_rows page.object_list workspace=workspace actor=actor retrievable=retrievable %}
    """
    return rows.render_rows(tokens, _row_page(context, workspace, actor, retrievable))


@register.simple_tag(takes_context=True)
def token_row(context, token, *, workspace, actor, retrievable: bool) -> str:
    """Render one token's table row, as {% token_rows %} draws it in the list."""
    return rows.render_row(token, _row_page(context, workspace, actor, retrievable))


@register.simple_tag
def token_row_extra(token, part: str, *, workspace, actor) -> str:
    """Render what other apps add to a row: its "note" or its "button" (tokens.rows)."""
    page = rows.RowPage(slug=workspace.slug, actor=actor, retrievable=False)
    return mark_safe("".join(page.added(token, part)))  # noqa: S308 the extras' format_html


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
