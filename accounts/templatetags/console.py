"""Template helpers for the console."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts import settings_tabs as settings_tabs_registry
from accounts import time_words
from accounts.permissions import has_perm, roles_granted

register = template.Library()


@register.simple_block_tag(takes_context=True)
def dialog_form(
    context,
    content: str,
    *,
    title: str,
    cancel_url: str,
    action: str,
    submit: str,
    danger: bool = False,
    form=None,
    form_class: str = "",
) -> str:
    """Render a dialog's header and the form that posts `action` back into the modal: the
    `form`'s fields (when given), the block's content, then Cancel and the `submit` button.

    {% dialog_form title="Rename token" cancel_url=list_url action=rename_url form=rename_form
       submit="Save" %}
      a note under the fields…
    {% enddialog_form %}
    """
    return render_to_string(
        "components/dialog_form.html",
        {
            "title": title,
            "cancel_url": cancel_url,
            "action": action,
            "submit": submit,
            "danger": danger,
            "form": form,
            "form_class": form_class,
            "content": content,
        },
        request=context.get("request"),
    )


@register.simple_block_tag
def filter_form(
    content: str, *, form_id: str, url: str, target: str, trigger: str, label: str
) -> str:
    """Render a list's filter bar: a GET form on `url` whose changes (`trigger`) swap the
    element `target` (an id) and the address, with a Filter button for browsers without script.

    {% filter_form form_id="audit-filters" url=audit_url target="audit-table"
       trigger="change, submit" label="Filter the audit log" %}
      <div class="filter">…</div>
    {% endfilter_form %}
    """
    return render_to_string(
        "components/filter_form.html",
        {
            "form_id": form_id,
            "url": url,
            "target": target,
            "trigger": trigger,
            "label": label,
            "content": content,
        },
    )


DIALOG_ICONS = {
    "rename": '<path d="M4 20h4L18.5 9.5a2.1 2.1 0 0 0-4-4L4 16v4z" /><path d="M13.5 6.5l4 4" />',
    "rotate": '<path d="M20 11a8 8 0 0 0-14.9-3.9L4 9" /><path d="M4 4v5h5" />'
    '<path d="M4 13a8 8 0 0 0 14.9 3.9L20 15" /><path d="M20 20v-5h-5" />',
    "delete": '<path d="M4 7h16" /><path d="M10 11v6M14 11v6" /><path d="M6 7l1 13h10l1-13" />'
    '<path d="M9 7V4h6v3" />',
    "remove": '<path d="M6 6l12 12M18 6L6 18" />',
    "service": '<path d="M12 3l7 3v5c0 4.4-3 8-7 10-4-2-7-5.6-7-10V6z" />'
    '<path d="M9 12l2 2 4-4" />',
    "limits": '<path d="M4 18a8 8 0 1 1 16 0" /><path d="M12 18l4-6" />',
}


@register.simple_tag
def dialog_link(
    *,
    url: str,
    icon: str,
    action: str,
    subject: str,
    title: str = "",
    id_prefix: str = "",
    key="",
    danger: bool = False,
) -> str:
    """Render a row's icon button that opens a dialog in the modal (without script, its page).

    {% dialog_link url=rename_url icon="rename" action="Rename" subject=row.name
       id_prefix="rename-" key=row.pk danger=False %}: the label reads "Rename orders-db",
    the id "rename-<key>". Python, not an include: a page of 25 tokens draws 75 of them.
    """
    return format_html(
        '<a{} class="icon-button{}" href="{}" hx-get="{}" hx-target="#modal-content" '
        'hx-swap="innerHTML" aria-label="{} {}" title="{}">'
        '<svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18">{}</svg></a>',
        format_html(' id="{}{}"', id_prefix, key) if id_prefix else "",
        " danger" if danger else "",
        url,
        url,
        action,
        subject,
        title or action,
        mark_safe(DIALOG_ICONS.get(icon, DIALOG_ICONS["remove"])),  # noqa: S308 constants above
    )


@register.filter
def can(membership, perm: str) -> bool:
    """Return whether `membership` grants `perm`: {% if membership|can:"members.manage" %}."""
    return has_perm(membership, perm)


@register.simple_tag
def settings_tabs(membership, slug: str) -> list:
    """Return the Settings tabs other apps registered that `membership` may open."""
    return settings_tabs_registry.visible_tabs(membership, slug)


@register.filter
def roles_with(perm: str) -> str:
    """Return who holds `perm`, from the permission table: {{ "policies.manage"|roles_with }}."""
    return roles_granted(perm)


@register.filter
def ago(moment) -> str:
    """Return how long ago `moment` was, in its largest unit: "3 days ago", "just now"."""
    return time_words.ago(moment)


@register.filter
def until(moment) -> str:
    """Return how long until `moment`, in its largest unit: "in 3 days"."""
    return time_words.until(moment)


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
