"""Decide who may do what in a workspace: the one table every decision reads.

`LOWEST_ROLE` names, for each permission, the least powerful role granted it, and
`role_has_perm` is the only function that reads it. Views (`workspace_view`),
templates (the `can` filter, through `has_perm`) and services (`tokens.rules`,
which adds the operator and system bypass) all ask it, so changing a row changes
the page and the action together.

A view names the permission it needs; `workspace_view` resolves the workspace
from the URL and the caller's membership, answers 404 to non-members (so a
workspace's existence is not revealed), sends a member who lacks the two-factor
authentication the workspace's policy asks of them to set it up
(accounts.signin.policy), and answers 403 to a role that is too low.
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
from accounts.signin import policy as two_factor_policy
from accounts.signin import sso_enforcement


class Perm(StrEnum):
    """A thing a member may do in a workspace."""

    WORKSPACE_VIEW = "workspace.view"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    RESOURCES_MANAGE = "resources.manage"
    POLICIES_MANAGE = "policies.manage"
    AUDIT_VIEW = "audit.view"
    TOKENS_VIEW_ALL = "tokens.view_all"
    TOKENS_CREATE_WORKSPACE = "tokens.create_workspace"
    # Members may also create personal tokens where the workspace's policy lets them.
    TOKENS_CREATE_PERSONAL = "tokens.create_personal"
    TOKENS_MANAGE_WORKSPACE = "tokens.manage_workspace"
    TOKENS_REVOKE_ANY = "tokens.revoke_any"
    TOKENS_CHECK_VALUES = "tokens.check_values"


LOWEST_ROLE: dict[Perm, Role] = {
    Perm.WORKSPACE_VIEW: Role.MEMBER,
    Perm.MEMBERS_VIEW: Role.MEMBER,
    Perm.MEMBERS_MANAGE: Role.ADMIN,
    Perm.RESOURCES_MANAGE: Role.ADMIN,
    Perm.POLICIES_MANAGE: Role.ADMIN,
    Perm.AUDIT_VIEW: Role.MANAGER,
    Perm.TOKENS_VIEW_ALL: Role.MANAGER,
    Perm.TOKENS_CREATE_WORKSPACE: Role.MANAGER,
    Perm.TOKENS_CREATE_PERSONAL: Role.MANAGER,
    Perm.TOKENS_MANAGE_WORKSPACE: Role.MANAGER,
    Perm.TOKENS_REVOKE_ANY: Role.ADMIN,
    Perm.TOKENS_CHECK_VALUES: Role.MANAGER,
}


def role_has_perm(role: Role | str, perm: Perm | str) -> bool:
    """Return whether `role` grants `perm`: the one reader of LOWEST_ROLE."""
    return Role(role).at_least(LOWEST_ROLE[Perm(perm)])


def roles_granted(perm: Perm | str) -> str:
    """Return the roles granted `perm` in words, most powerful first: "Admins and Managers"."""
    names = [f"{role.label}s" for role in Role if role_has_perm(role, perm)]
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def has_perm(membership: Membership | None, perm: Perm | str) -> bool:
    """Return whether `membership` grants `perm`."""
    return membership is not None and role_has_perm(membership.role_enum, perm)


def require_perm(membership: Membership | None, perm: Perm | str) -> None:
    """Raise PermissionDenied (403) unless `membership` grants `perm`."""
    if not has_perm(membership, perm):
        raise PermissionDenied("Your role in this workspace does not allow this.")


# What every workspace page reads with its membership, joined into the one query that finds
# it: the workspace, its single sign-on settings (accounts.signin.sso.needs_sso_session) and
# its token policy (tokens.services.workspace_policy).
WORKSPACE_JOINS = ("workspace", "workspace__single_sign_on", "workspace__token_policy")
# Marks the workspace of a membership that membership_for found, whose WORKSPACE_JOINS were
# read with it in this request; another Workspace object may hold an older token policy
# (Django caches the one it was created with).
JOINED = "joined_this_request"


def memberships_of(user) -> list[Membership]:
    """Return the user's memberships by workspace name, each with WORKSPACE_JOINS."""
    return list(
        Membership.objects.filter(user=user)
        .select_related(*WORKSPACE_JOINS)
        .order_by("workspace__name")
    )


def membership_for(user, slug: str, memberships: list[Membership] | None = None) -> Membership:
    """Return the user's membership in the workspace `slug`, or raise Http404.

    From `memberships` (memberships_of(user)) when given, else with one query of its own.
    """
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such workspace.")
    if memberships is None:
        memberships = Membership.objects.filter(workspace__slug=slug, user=user).select_related(
            *WORKSPACE_JOINS
        )
    for membership in memberships:
        if membership.workspace.slug == slug:
            membership.user = user
            setattr(membership.workspace, JOINED, True)
            return membership
    raise Http404("No such workspace.")


def workspace_view(perm: Perm = Perm.WORKSPACE_VIEW) -> Callable:
    """Decorate a view under /w/<slug>/ so that it runs only for members allowed `perm`.

    The view receives the request with `request.membership` and
    `request.workspace` set, and without the `slug` argument. A member the
    workspace's two-factor policy covers and who lacks it never reaches it.
    A request for a whole page (not HTMX's) also gets `request.memberships`, all
    of the user's, for the header's workspace menu: the same one query.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def wrapped(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
            if not getattr(request, "htmx", False):
                request.memberships = memberships_of(request.user)
            membership = membership_for(request.user, slug, getattr(request, "memberships", None))
            if sso_sign_in := sso_enforcement.reauthentication(request, membership):
                return sso_sign_in
            if two_factor_policy.blocks(membership):
                return two_factor_policy.refusal(request, membership)
            require_perm(membership, perm)
            request.membership = membership
            request.workspace = membership.workspace
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
