"""Check a token: paste a value, see which of the workspace's tokens it is, and revoke it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django_htmx.http import trigger_client_event

from accounts.htmx import finish_action, render_page
from accounts.permissions import workspace_view
from tokens import rules, services
from tokens.actors import Actor
from tokens.check_proofs import STALE_PROOF, check_proof, checked_public_id
from tokens.forms import TokenCheckForm
from tokens.models import Token
from tokens.views.tokens import TEMPLATE, tab_context

WRONG_FORMAT = (
    "This is not a Keyward token: the prefix, length or checksum does not match. "
    "Paste the whole value."
)
NOT_OURS = "No token of this workspace has this value. It may belong to another workspace."


def _actor(request: HttpRequest) -> Actor:
    actor = Actor.member(request.membership)
    if not rules.may_check_values(actor):
        raise PermissionDenied("Your role may not check token values.")
    return actor


def _revoke(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    try:
        token = services.token_for(actor, request.workspace, public_id)
    except Token.DoesNotExist:
        raise Http404("No such token.") from None
    if not rules.may_revoke(actor, token):
        raise PermissionDenied("You may not revoke this token.")
    was_active = token.is_active
    token = services.token_revoke_as_leaked(actor=actor, token=token, request=request)
    message = (
        f"Token {token.name} revoked as leaked. Its owner and the Admins were emailed."
        if was_active
        else f"Token {token.name} was already revoked; nothing changed."
    )
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
    actor = _actor(request)
    found, notice = None, ""
    if request.method == "POST" and request.POST.get("revoke"):
        public_id = checked_public_id(request.POST["revoke"], request.user)
        if public_id is not None:
            return _revoke(request, actor, public_id)
        form, notice = TokenCheckForm(), STALE_PROOF
    else:
        form = TokenCheckForm(request.POST or None)
    if form.is_bound and form.is_valid():
        value = form.cleaned_data["value"]
        if not services.secrets_look_valid(value):
            form.add_error("value", WRONG_FORMAT)
        else:
            found = services.token_check(
                actor=actor, workspace=request.workspace, value=value, request=request
            )
            if found is None:
                form.add_error("value", NOT_OURS)
    proof = check_proof(found, request.user) if found is not None else ""
    context = tab_context(
        request, check_form=form, checked=found, check_proof=proof, check_notice=notice
    )
    response = render_page(request, TEMPLATE, context, partial="check-dialog")
    patch_cache_control(response, no_store=True, private=True)
    return response
