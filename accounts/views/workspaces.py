"""Show workspaces, create them and move between them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts import services
from accounts.forms import WorkspaceForm
from accounts.models import Membership
from accounts.overview import overview_panels
from accounts.permissions import workspace_view

LAST_WORKSPACE_SESSION_KEY = "keyward_last_workspace"


def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the workspace they used last, or to sign in."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    memberships = Membership.objects.filter(user=request.user).select_related("workspace")
    last = request.session.get(LAST_WORKSPACE_SESSION_KEY)
    chosen = next((m for m in memberships if m.workspace.slug == last), None) or next(
        iter(memberships.order_by("workspace__name")), None
    )
    if chosen is None:
        return redirect("accounts:workspace_create")
    return redirect(chosen.workspace)


@login_required
def workspace_create(request: HttpRequest) -> HttpResponse:
    """Create a workspace where the user is Admin."""
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.workspace_create(
                name=form.cleaned_data["name"], creator=request.user, request=request
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(workspace)
    return render(request, "accounts/workspace_create.html", {"form": form})


@workspace_view()
def overview(request: HttpRequest) -> HttpResponse:
    """Show the workspace's overview page with the panels other apps add to it."""
    request.session[LAST_WORKSPACE_SESSION_KEY] = request.workspace.slug
    return render(
        request,
        "accounts/overview.html",
        {
            "member_count": request.workspace.memberships.count(),
            "panels": overview_panels(request),
            "nav": "overview",
        },
    )


@workspace_view()
def settings_index(request: HttpRequest) -> HttpResponse:
    """Open Settings on its first tab (the project names it in KEYWARD_SETTINGS_FIRST_TAB)."""
    return redirect(settings.KEYWARD_SETTINGS_FIRST_TAB, slug=request.workspace.slug)
