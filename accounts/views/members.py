"""Settings → Members: list members and invitations; Admins invite, change roles and remove."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts import services
from accounts.forms import InvitationForm, RoleForm
from accounts.htmx import attempt, finish_action, finish_with_partial, refuse_action, render_page
from accounts.models import Invitation, Membership
from accounts.permissions import Perm, workspace_view
from accounts.roles import Role
from accounts.signin import factors

TEMPLATE = "accounts/members.html"


def _members_url(request: HttpRequest) -> str:
    return reverse("accounts:members", kwargs={"slug": request.workspace.slug})


def _context(request: HttpRequest, **extra) -> dict:
    workspace = request.workspace
    return {
        "memberships": workspace.memberships.select_related("user")
        .annotate(has_two_factor=factors.has_two_factor_expression("user"))
        .order_by("user__email"),
        "invitations": Invitation.objects.pending()
        .filter(workspace=workspace)
        .select_related("invited_by"),
        "role_choices": Role.choices,
        "invitation_days": settings.KEYWARD_INVITATION_MAX_AGE_DAYS,
        "nav": "settings",
        "tab": "members",
        "members_url": _members_url(request),
        **extra,
    }


def _with_two_factor(membership: Membership) -> Membership:
    """Mark `membership` as the list's query does, for the one row a view renders."""
    membership.has_two_factor = factors.has_two_factor(membership.user)
    return membership


def _done(request: HttpRequest, message: str) -> HttpResponse:
    """Answer an action that changed the member list: the list, refreshed, and `message`."""
    context = _context(request)
    return finish_with_partial(
        request, message, TEMPLATE, context, "member-list", _members_url(request)
    )


@workspace_view(Perm.MEMBERS_VIEW)
def members(request: HttpRequest) -> HttpResponse:
    """List the workspace's members and pending invitations."""
    return render_page(request, TEMPLATE, _context(request), partial="member-list")


@workspace_view(Perm.MEMBERS_MANAGE)
def member_invite(request: HttpRequest) -> HttpResponse:
    """Invite someone by email with a role."""
    form = InvitationForm(request.POST or None)
    invited = attempt(
        request,
        services.invitation_create,
        form,
        workspace=request.workspace,
        actor=request.user,
    )
    if invited.done:
        # Its email goes out after commit and may still fail: say what is known.
        return _done(request, f"Invitation created; emailing it to {invited.result.email}.")
    return render_page(
        request, TEMPLATE, _context(request, invite_form=form), dialog="invite-dialog"
    )


@require_POST
@workspace_view(Perm.MEMBERS_MANAGE)
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a member's role."""
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=pk, workspace=request.workspace
    )
    form = RoleForm(request.POST, initial={"role": membership.role})
    changed = attempt(
        request,
        services.membership_change_role,
        form,
        show_errors=lambda form, error: form.add_error("role", error),
        membership=membership,
        actor=request.user,
    )
    if changed.done:
        membership = _with_two_factor(changed.result)
        return finish_action(
            request,
            message=f"{membership.user.email} is now {membership.get_role_display()}.",
            redirect_url=_members_url(request),
            update=render_page(
                request, TEMPLATE, _context(request, row=membership), partial="member-row"
            ),
        )
    role_error = {"pk": membership.pk, "message": " ".join(form.errors.get("role", []))}
    context = _context(request, row=_with_two_factor(membership), role_error=role_error)
    response = render_page(request, TEMPLATE, context, partial="member-row")
    if form.errors and request.htmx:
        trigger_client_event(
            response, "toast", {"message": role_error["message"], "level": "error"}
        )
    return response


@workspace_view(Perm.MEMBERS_MANAGE)
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation, then remove a member from the workspace."""
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=pk, workspace=request.workspace
    )
    removed = attempt(
        request, services.membership_remove, membership=membership, actor=request.user
    )
    if removed.done and membership.user_id == request.user.pk:
        # They left: this workspace's pages now answer them 404, so go home.
        messages.success(request, f"You left {request.workspace.name}.")
        home = reverse("accounts:home")
        return HttpResponseClientRedirect(home) if request.htmx else redirect(home)
    if removed.done:
        return _done(request, f"{membership.user.email} was removed from {request.workspace.name}.")
    context = _context(request, removing=membership, remove_error=removed.error)
    return render_page(request, TEMPLATE, context, dialog="remove-dialog")


def _invitation_action(request: HttpRequest, pk: int, action, message: str) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.pending(), pk=pk, workspace=request.workspace)
    try:
        action(invitation=invitation, actor=request.user, request=request)
    except ValidationError as error:
        return refuse_action(
            request, message=" ".join(error.messages), redirect_url=_members_url(request)
        )
    return _done(request, message.format(email=invitation.email))


@require_POST
@workspace_view(Perm.MEMBERS_MANAGE)
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a pending invitation again with a fresh link."""
    return _invitation_action(
        request, pk, services.invitation_resend, "Invitation renewed; emailing it to {email}."
    )


@require_POST
@workspace_view(Perm.MEMBERS_MANAGE)
def invitation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a pending invitation."""
    return _invitation_action(
        request, pk, services.invitation_cancel, "Invitation to {email} cancelled."
    )
