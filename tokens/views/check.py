"""Check a token: paste a value, see which of the workspace's tokens it is, and revoke it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django_htmx.http import trigger_client_event

from accounts.htmx import finish_action, render_page
from accounts.permissions import workspace_view
from tokens import rules
from tokens.actors import Actor
from tokens.checking import TokenCheckForm, token_revoke_checked
from tokens.views.tokens import TEMPLATE, tab_context


def _revoked(request: HttpRequest, message: str) -> HttpResponse:
    response = finish_action(
        request,
        message=message,
        redirect_url=reverse("tokens:list", kwargs={"slug": request.workspace.slug}),
    )
    if request.htmx:
        trigger_client_event(response, "tokens:changed", {})
    return response


@workspace_view()
def token_check(request: HttpRequest) -> HttpResponse:
    """Show the Check a token form; say which token a value is, and offer to revoke it."""
    actor = Actor.member(request.membership)
    if not rules.may_check_values(actor):
        raise PermissionDenied("Your role may not check token values.")
    arguments = {"actor": actor, "workspace": request.workspace, "request": request}
    notice = ""
    if request.method == "POST" and request.POST.get("revoke"):
        outcome = token_revoke_checked(user=request.user, proof=request.POST["revoke"], **arguments)
        if outcome.token is not None:
            return _revoked(request, outcome.message)
        form, notice = TokenCheckForm(**arguments), outcome.message
    else:
        form = TokenCheckForm(request.POST or None, **arguments)
    found = form.found if form.is_bound and form.is_valid() else None
    context = tab_context(
        request,
        check_form=form,
        checked=found,
        check_proof=form.proof_for(request.user),
        check_notice=notice,
    )
    response = render_page(request, TEMPLATE, context, dialog="check-dialog")
    patch_cache_control(response, no_store=True, private=True)
    return response
