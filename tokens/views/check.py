"""Check a token: paste a value, see which of the workspace's tokens it is, and revoke it."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django_htmx.http import trigger_client_event

from accounts.htmx import finish_action, render_page
from accounts.permissions import workspace_view
from tokens import rules, services
from tokens.actors import Actor
from tokens.models import Token
from tokens.views.tokens import TEMPLATE, _context

WRONG_FORMAT = (
    "This is not a Keyward token: the prefix, length or checksum does not match. "
    "Paste the whole value."
)
NOT_OURS = "No token of this workspace has this value. It may belong to another workspace."


class TokenCheckForm(forms.Form):
    """A pasted token value; never rendered back into the page."""

    value = forms.CharField(
        label="Token value",
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Paste the token you found, for example in a log or a public repository. "
        "Keyward compares a fingerprint of it and keeps nothing of what you paste.",
    )


def _actor(request: HttpRequest) -> Actor:
    actor = Actor.member(request.membership)
    if not rules.may_check_values(actor):
        raise PermissionDenied("Only Admins and Managers may check token values.")
    return actor


def _revoke(request: HttpRequest, actor: Actor, public_id: str) -> HttpResponse:
    try:
        token = services.token_for(actor, request.workspace, public_id)
    except Token.DoesNotExist:
        raise Http404("No such token.") from None
    if not rules.may_revoke(actor, token):
        raise PermissionDenied("You may not revoke this token.")
    was_active = token.is_active
    token = services.token_revoke_leaked_by_member(actor=actor, token=token, request=request)
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
    if request.method == "POST" and request.POST.get("revoke"):
        return _revoke(request, actor, request.POST["revoke"])
    form = TokenCheckForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        value = form.cleaned_data["value"]
        if not services.secrets_look_valid(value):
            form.add_error("value", WRONG_FORMAT)
        else:
            found = services.token_check(
                actor=actor, workspace=request.workspace, value=value, request=request
            )
            if found is None:
                form.add_error("value", NOT_OURS)
    context = _context(request, check_form=form, checked=found)
    response = render_page(request, TEMPLATE, context, partial="check-dialog")
    patch_cache_control(response, no_store=True, private=True)
    return response
