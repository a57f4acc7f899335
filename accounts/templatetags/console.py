"""Template helpers for the console."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from accounts.permissions import has_perm, roles_granted

register = template.Library()


@register.simple_block_tag(takes_context=True)
def dialog_form(
    context, content: str, *, title: str, cancel_url: str, action: str, form_class: str = ""
) -> str:
    """Render a dialog's header and the form that posts `action` back into the modal.

    {% dialog_form title="Rename token" cancel_url=list_url action=rename_url %}
      fields… {% include "components/dialog_actions.html" … %}
    {% enddialog_form %}
    """
    return render_to_string(
        "components/dialog_form.html",
        {
            "title": title,
            "cancel_url": cancel_url,
            "action": action,
            "form_class": form_class,
            "content": content,
        },
        request=context.get("request"),
    )


@register.filter
def can(membership, perm: str) -> bool:
    """Return whether `membership` grants `perm`: {% if membership|can:"members.manage" %}."""
    return has_perm(membership, perm)


@register.filter
def roles_with(perm: str) -> str:
    """Return who holds `perm`, from the permission table: {{ "policies.manage"|roles_with }}."""
    return roles_granted(perm)


@register.filter
def ago(moment) -> str:
    """Return how long ago `moment` was, in its largest unit: "3 days ago", "just now"."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, depth=1)} ago"


@register.filter
def until(moment) -> str:
    """Return how long until `moment`, in its largest unit: "in 3 days"."""
    if moment is None:
        return ""
    if (moment - timezone.now()).total_seconds() < 60:
        return "in under a minute"
    return f"in {timeuntil(moment, depth=1)}"


@register.filter
def audit_details(details: dict) -> list[tuple[str, str]]:
    """Return an event's details as short (key, text) pairs, leaving out empty values."""
    pairs = []
    for key, value in (details or {}).items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        pairs.append((key.replace("_", " "), str(value)))
    return pairs


@register.filter
def page_query(filters, path: str = "") -> str:
    """Return the link to a page of a filtered list without its number: "<path>?<filters>&page="."""
    query = filters.query_string()
    return f"{path}?{query}&page=" if query else f"{path}?page="
