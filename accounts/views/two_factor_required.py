"""The page a member is sent to when a workspace requires two-factor authentication they lack."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.models import Membership
from accounts.signin import policy


@login_required
def two_factor_required(request: HttpRequest, slug: str) -> HttpResponse:
    """Say which workspace requires two-factor and link to set it up.

    Anyone the requirement does not stop (it is met, the policy changed, or
    they are no member) is sent on to the workspace, which answers as it would.
    """
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("workspace", "user")
        .order_by("workspace__name")
    )
    membership = next((m for m in memberships if m.workspace.slug == slug), None)
    if membership is None or not policy.blocks(membership):
        return policy.SeeOther(reverse("accounts:workspace_overview", kwargs={"slug": slug}))
    others = [
        {"workspace": m.workspace, "requires": m.two_factor_required}
        for m in memberships
        if m != membership
    ]
    context = {
        "required_in": membership,
        "covered": membership.workspace.two_factor_policy_enum.label,
        "others": others,
    }
    return render(request, "accounts/two_factor_required.html", context)
