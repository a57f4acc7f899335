"""Put what the console shell needs into every template."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.console_urls import console_urls
from accounts.models import Membership


def console(request: HttpRequest) -> dict:
    """Add the current workspace and membership, the user's memberships on first use, and
    the links of the frame (`urls`, accounts.console_urls).

    A workspace page found them with its membership (accounts.permissions.workspace_view).
    """
    user = getattr(request, "user", None)
    workspace = getattr(request, "workspace", None)
    urls = console_urls(workspace.slug if workspace else None)
    if user is None or not user.is_authenticated:
        return {"urls": urls}
    memberships = getattr(request, "memberships", None)
    if memberships is None:
        memberships = SimpleLazyObject(
            lambda: list(
                Membership.objects.filter(user=user)
                .select_related("workspace")
                .order_by("workspace__name")
            )
        )
    return {
        "workspace": workspace,
        "membership": getattr(request, "membership", None),
        "user_memberships": memberships,
        "urls": urls,
    }
