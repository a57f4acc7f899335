"""Put what the console shell needs into every template."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import Membership


def console(request: HttpRequest) -> dict:
    """Add the current workspace and membership, and the user's memberships on first use.

    A workspace page found them with its membership (accounts.permissions.workspace_view).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
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
        "workspace": getattr(request, "workspace", None),
        "membership": getattr(request, "membership", None),
        "user_memberships": memberships,
    }
