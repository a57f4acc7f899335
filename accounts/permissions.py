"""Decide who may do what in a workspace: the one module every console view uses.

A view names the permission it needs; `workspace_view` resolves the workspace
from the URL and the caller's membership, answers 404 to non-members (so a
workspace's existence is not revealed) and 403 to a role that is too low.
Templates ask `has_perm` (through the `can` filter) only to decide what to show.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from accounts.models import Membership
from accounts.roles import Role


class Perm(StrEnum):
    """A thing a member may do in a workspace."""

    WORKSPACE_VIEW = "workspace.view"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    RESOURCES_MANAGE = "resources.manage"
    POLICIES_MANAGE = "policies.manage"
    AUDIT_VIEW = "audit.view"


LOWEST_ROLE: dict[Perm, Role] = {
    Perm.WORKSPACE_VIEW: Role.MEMBER,
    Perm.MEMBERS_VIEW: Role.MEMBER,
    Perm.MEMBERS_MANAGE: Role.ADMIN,
    Perm.RESOURCES_MANAGE: Role.ADMIN,
    Perm.POLICIES_MANAGE: Role.ADMIN,
    Perm.AUDIT_VIEW: Role.MANAGER,
}


def has_perm(membership: Membership | None, perm: Perm | str) -> bool:
    """Return whether `membership` grants `perm`."""
    if membership is None:
        return False
    return membership.role_enum.at_least(LOWEST_ROLE[Perm(perm)])


def require_perm(membership: Membership | None, perm: Perm | str) -> None:
    """Raise PermissionDenied (403) unless `membership` grants `perm`."""
    if not has_perm(membership, perm):
        raise PermissionDenied("Your role in this workspace does not allow this.")


def membership_for(user, slug: str) -> Membership:
    """Return the user's membership in the workspace `slug`, or raise Http404."""
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such workspace.")
    try:
        return Membership.objects.select_related("workspace", "user").get(
            user=user, workspace__slug=slug
        )
    except Membership.DoesNotExist:
        raise Http404("No such workspace.") from None


def workspace_view(perm: Perm = Perm.WORKSPACE_VIEW) -> Callable:
    """Decorate a view under /w/<slug>/ so that it runs only for members allowed `perm`.

    The view receives the request with `request.membership` and
    `request.workspace` set, and without the `slug` argument.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def wrapped(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
            membership = membership_for(request.user, slug)
            require_perm(membership, perm)
            request.membership = membership
            request.workspace = membership.workspace
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
