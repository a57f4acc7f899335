"""Reveal or copy a stored token (retrievable policy), after a recent password confirmation."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from accounts import sudo
from accounts.htmx import render_page
from accounts.permissions import workspace_view
from tokens import rules, services
from tokens.actors import Actor
from tokens.exports import reveal_context
from tokens.views.tokens import TEMPLATE, tab_context, visible_token

PURPOSES = {"reveal", "copy"}


@require_POST
@workspace_view()
def token_reveal(request: HttpRequest, public_id: str) -> HttpResponse:
    """Ask who it is (sudo mode) unless confirmed lately, then show the token's value (audited)."""
    token = visible_token(request, public_id)
    actor = Actor.member(request.membership)
    if not rules.may_reveal(actor, token):
        raise PermissionDenied("You may not see this token's value.")
    purpose = request.POST.get("purpose")
    purpose = purpose if purpose in PURPOSES else "reveal"
    sudo_form = sudo.prompt(
        request, return_to=reverse("tokens:list", kwargs={"slug": request.workspace.slug})
    )
    if sudo_form is not None:
        context = tab_context(request, sudo_token=token, sudo_form=sudo_form, purpose=purpose)
        return render_page(request, TEMPLATE, context, dialog="sudo-dialog")
    try:
        secret = services.token_reveal(actor=actor, token=token, purpose=purpose, request=request)
    except ValidationError as error:
        context = tab_context(
            request, retrieved={"token": token, "error": " ".join(error.messages)}
        )
    else:
        retrieved = reveal_context(token, secret) | {"copy": purpose == "copy"}
        context = tab_context(request, retrieved=retrieved)
    response = render_page(request, TEMPLATE, context, dialog="secret-dialog")
    patch_cache_control(response, no_store=True, private=True)
    return response
