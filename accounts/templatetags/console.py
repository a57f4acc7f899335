"""Template helpers for the console."""

from __future__ import annotations

from django import template

from accounts.permissions import has_perm

register = template.Library()


@register.filter
def can(membership, perm: str) -> bool:
    """Return whether `membership` grants `perm`: {% if membership|can:"members.manage" %}."""
    return has_perm(membership, perm)
