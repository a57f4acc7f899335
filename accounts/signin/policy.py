"""Keep members who lack two-factor authentication out of a workspace whose policy requires it.

`accounts.permissions.workspace_view` asks `blocks` for every console view
under /w/<slug>/, right after it resolves the membership, so no view can forget
it. The API is not concerned: tokens authenticate on their own.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Membership
from accounts.signin import factors


def blocks(membership: Membership) -> bool:
    """Return whether the workspace's policy asks `membership` for a second factor it lacks."""
    return membership.two_factor_required and not factors.has_two_factor(membership.user)


def required_url(membership: Membership) -> str:
    """Return the page that tells the member to set up two-factor for this workspace."""
    return reverse("accounts:two_factor_required", kwargs={"slug": membership.workspace.slug})


def refusal(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Send the member to set up two-factor: 303 for a page, HX-Redirect for an HTMX request.

    An HTMX request gets the header rather than a redirect, which htmx would
    follow and swap into the fragment it asked for.
    """
    url = required_url(membership)
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return SeeOther(url)


class SeeOther(HttpResponseRedirect):
    """Redirect with 303, so that the browser follows with a GET whatever the method was."""

    status_code = 303
