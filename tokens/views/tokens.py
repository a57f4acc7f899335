"""Settings → Tokens: list, create, reveal once, rename, rotate, revoke; with or without HTMX."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject
from django_htmx.http import trigger_client_event

from accounts.form_errors import add_service_errors
from accounts.htmx import attempt, finish_action, render_page
from accounts.permissions import workspace_view
from tokens import rows, rules, services, vault
from tokens.actors import Actor
from tokens.exports import reveal_context
from tokens.filters import STATUSES, TokenFilters
from tokens.forms import CUSTOM, TokenCreateForm, TokenRenameForm, TokenRotateForm
from tokens.models import Resource, RevealPolicy, Token, TokenKind

TEMPLATE = "tokens/list.html"
PAGE_SIZE = 25
# Service errors name model fields; the form shows them next to its own fields.
FORM_FIELDS = {"expires_at": "expiration", "resource_ids": "resources"}


def _actor(request: HttpRequest) -> Actor:
    return Actor.member(request.membership)


def _list_url(request: HttpRequest) -> str:
    return reverse("tokens:list", kwargs={"slug": request.workspace.slug})


def tab_context(request: HttpRequest, **extra) -> dict:
    """Return what the Tokens tab shows: one page of tokens and the rules for its buttons."""
    actor = _actor(request)
    policy = services.workspace_policy(request.workspace)
    filters = TokenFilters.from_query(request.GET)
    tokens = rows.with_row_relations(
        filters.apply(services.tokens_visible_to(actor, request.workspace))
    )
    return {
        "nav": "settings",
        "tab": "tokens",
        "list_url": _list_url(request),
        "actor": actor,
        "policy": policy,
        "may_create": rules.may_create_any(actor, policy),
        "may_check": rules.may_check_values(actor),
        # Without usable keys nothing can be revealed and new tokens keep no copy.
        "retrievable": policy.reveal_policy == RevealPolicy.RETRIEVABLE and vault.is_configured(),
        "sudo_minutes": settings.KEYWARD_SUDO_SECONDS // 60,
        "filters": filters,
        "statuses": STATUSES,
        # Lazy: dialogs rendered over HTMX never show the list, so they skip its queries.
        "page": SimpleLazyObject(lambda: Paginator(tokens, PAGE_SIZE).get_page(filters.page)),
        **extra,
    }


def visible_token(request: HttpRequest, public_id: str) -> Token:
    """Return the workspace's token `public_id` if the member may see it, else raise Http404."""
    try:
        return services.token_for(_actor(request), request.workspace, public_id)
    except Token.DoesNotExist:
        raise Http404("No such token.") from None


def _token_to(request: HttpRequest, public_id: str, verb: str, allowed) -> Token:
    """Return the visible token `public_id` if `allowed(actor, token)`, else refuse to `verb` it.

    The dialog is refused as its action would be, before anything is shown.
    """
    token = visible_token(request, public_id)
    if not allowed(_actor(request), token):
        raise PermissionDenied(f"You may not {verb} this token.")
    return token


def _attach_errors(form, error: ValidationError) -> None:
    rename = FORM_FIELDS
    if getattr(form, "cleaned_data", {}).get("expiration") == CUSTOM:
        rename = {**FORM_FIELDS, "expires_at": "expires_on"}  # next to the date typed
    add_service_errors(form, error, rename)


def _row_done(request: HttpRequest, token: Token, message: str) -> HttpResponse:
    """Answer an action on one token: its row, redrawn in place, and `message`."""
    return finish_action(
        request,
        message=message,
        redirect_url=_list_url(request),
        update=render_page(request, TEMPLATE, tab_context(request, row=token), partial="token-row"),
        target=f"#token-{token.public_id}",
    )


def _reveal(request: HttpRequest, token: Token, secret: str, message: str) -> HttpResponse:
    """Answer with the one response that carries a new secret."""
    context = tab_context(request, revealed=reveal_context(token, secret))
    response = render_page(request, TEMPLATE, context, dialog="reveal-dialog")
    patch_cache_control(response, no_store=True, private=True)
    if request.htmx:
        trigger_client_event(response, "tokens:changed", {})
        trigger_client_event(response, "toast", {"message": message, "level": "success"})
    return response


@workspace_view()
def token_list(request: HttpRequest) -> HttpResponse:
    """List the workspace's tokens the member may see, filtered and paginated."""
    return render_page(request, TEMPLATE, tab_context(request), partial="token-table")


# More sections of the Add token dialog, from other apps (DESIGN §1: tokens never imports
# them): each has `template` (included with its form), `form(request)` (a bound form, or
# None when the request does not show it) and `save(form, *, token, actor, request)`,
# run in the transaction that creates the token (a ValidationError undoes the token).
_create_sections: list = []


def register_create_section(section) -> None:
    """Add a section (e.g. the gateway's Limits) to the Add token dialog."""
    _create_sections.append(section)


@dataclass(frozen=True, slots=True)
class _Section:
    template: str
    form: object
    save: object


def _sections(request: HttpRequest) -> list[_Section]:
    return [
        _Section(section.template, form, section.save)
        for section in _create_sections
        if (form := section.form(request)) is not None
    ]


def _create_with_sections(*, sections: list[_Section], request, actor, **arguments):
    """Create the token and save the dialog's other sections, all or nothing."""
    with transaction.atomic():
        token, secret = services.token_create(request=request, actor=actor, **arguments)
        for section in sections:
            section.save(section.form, token=token, actor=actor, request=request)
    return token, secret


@workspace_view()
def token_create(request: HttpRequest) -> HttpResponse:
    """Show the Add token form; create the token and reveal its secret once."""
    actor = _actor(request)
    policy = services.workspace_policy(request.workspace)
    kinds = rules.creatable_kinds(actor, policy)
    if not kinds:
        raise PermissionDenied("Your role may not create tokens in this workspace.")
    if request.POST.get("kind") in set(TokenKind.values) - set(kinds):
        # The form offers only the kinds the role may create; a forged kind is a 403.
        raise PermissionDenied("Your role may not create this kind of token.")
    form = TokenCreateForm(
        request.POST or None,
        grantable=rules.grantable_scopes(actor, request.workspace.pk),
        kinds=kinds,
        policy=policy,
        resources=Resource.objects.filter(workspace=request.workspace),
        workspace=request.workspace,
    )
    sections = _sections(request)
    # Every section's form is checked (all, not a short cut), so each shows its errors.
    if all([section.form.is_valid() for section in sections if section.form.is_bound]):
        created = attempt(
            request,
            _create_with_sections,
            form,
            show_errors=_attach_errors,
            actor=actor,
            workspace=request.workspace,
            sections=sections,
        )
    else:
        form.is_valid()
        created = None
    if created is not None and created.done:
        token, secret = created.result
        return _reveal(request, token, secret, f"Token {token.name} created.")
    context = tab_context(request, create_form=form, create_sections=sections)
    return render_page(request, TEMPLATE, context, dialog="create-dialog")


@workspace_view()
def token_rename(request: HttpRequest, public_id: str) -> HttpResponse:
    """Rename a token (and its description); the row updates in place."""
    token = _token_to(request, public_id, "rename", rules.may_manage)
    form = TokenRenameForm(
        request.POST or None, initial={"name": token.name, "description": token.description}
    )
    renamed = attempt(request, services.token_rename, form, actor=_actor(request), token=token)
    if renamed.done:
        return _row_done(request, token, f"Token renamed to {token.name}.")
    context = tab_context(request, renaming=token, rename_form=form)
    return render_page(request, TEMPLATE, context, dialog="rename-dialog")


@workspace_view()
def token_rotate(request: HttpRequest, public_id: str) -> HttpResponse:
    """Rotate a token with a grace period and reveal the new secret once."""
    token = _token_to(request, public_id, "rotate", rules.may_manage)
    form = TokenRotateForm(request.POST or None)
    rotated = attempt(
        request, services.token_rotate, form, show_errors=None, actor=_actor(request), token=token
    )
    if rotated.done:
        new_token, secret = rotated.result
        return _reveal(request, new_token, secret, f"Token {token.name} rotated.")
    context = tab_context(
        request,
        rotating=token,
        rotate_form=form,
        rotate_error=rotated.error,
        rotate_expires_at=services.token_rotation_expiry(actor=_actor(request), token=token),
    )
    return render_page(request, TEMPLATE, context, dialog="rotate-dialog")


@workspace_view()
def token_revoke(request: HttpRequest, public_id: str) -> HttpResponse:
    """Ask for confirmation, then revoke a token; the row turns revoked in place."""
    token = _token_to(request, public_id, "revoke", rules.may_revoke)
    if request.method == "POST":
        services.token_revoke(actor=_actor(request), token=token, request=request)
        token = visible_token(request, public_id)  # again, with the row's related objects
        return _row_done(request, token, f"Token {token.name} revoked. It no longer authenticates.")
    return render_page(
        request, TEMPLATE, tab_context(request, revoking=token), dialog="revoke-dialog"
    )
