"""Account → Security → Passkeys, passwordless sign-in and sudo mode with a passkey.

The pages are HTMX like the rest of the console; the WebAuthn ceremonies are
JSON posted by static/js/passkeys.js: it asks for options, hands them to the
browser, and posts the browser's answer back. A refusal is a JSON error with a
stable code (`error`) and a sentence to show (`message`).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import sudo
from accounts.htmx import attempt, finish_with_partial, render_page
from accounts.models import Passkey
from accounts.signin import (
    browsers,
    factor_proof,
    factors,
    passkey_services,
    passkeys,
    pending,
    recovery_display,
)
from accounts.signin.passkey_forms import PasskeyNameForm
from accounts.signin.passkeys import PasskeyRefused
from accounts.signin.removal import confirm_removal

TEMPLATE = "accounts/passkeys.html"
# Refusals that are not the browser's fault get their own status.
STATUS = {"rate_limited": 429, "unavailable": 503}


def _list_url() -> str:
    return reverse("accounts:passkey_list")


def _context(request: HttpRequest, **extra) -> dict:
    return {
        "passkeys": Passkey.objects.of(request.user),
        "list_url": _list_url(),
        "sudo_minutes": settings.KEYWARD_SUDO_SECONDS // 60,
        "nav": "security",
        **extra,
    }


def _refusal(error: str, message: str, status: int = 400, **extra) -> JsonResponse:
    return JsonResponse({"error": error, "message": message, **extra}, status=status)


def _refused(refused: PasskeyRefused) -> JsonResponse:
    return _refusal(refused.reason, refused.message, STATUS.get(refused.reason, 400))


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    """Return the request's JSON object, or None when the body is not one."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


BAD_BODY = ("bad_request", "The browser sent an answer Keyward cannot read. Reload and try again.")


@never_cache
@login_required
def passkey_list(request: HttpRequest) -> HttpResponse:
    """List the signed-in user's passkeys: name, added, last used."""
    return render_page(request, TEMPLATE, _context(request), partial="passkey-list")


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
SUDO_REQUIRED = (
    "sudo_required",
    "Confirm it is you again: close this dialog and add the passkey again.",
)


@never_cache
@login_required
def passkey_add(request: HttpRequest) -> HttpResponse:
    """Ask who it is (sudo mode), then for a name (the dialog); store the browser's new
    credential (a JSON POST)."""
    if request.method == "POST" and request.content_type not in FORM_TYPES:
        return _store_passkey(request)  # the ceremony's JSON, not the sudo prompt's form
    sudo_form = sudo.prompt(request, return_to=_list_url())
    context = _context(request, add_form=PasskeyNameForm(), sudo_form=sudo_form)
    return render_page(request, TEMPLATE, context, dialog="add-dialog")


def _store_passkey(request: HttpRequest) -> JsonResponse:
    if not sudo.is_active(request):
        return _refusal(*SUDO_REQUIRED, status=403)
    body = _json_body(request)
    if body is None:
        return _refusal(*BAD_BODY)
    try:
        passkey, codes = passkey_services.passkey_register(
            request=request,
            user=request.user,
            name=body.get("name") if isinstance(body.get("name"), str) else "",
            credential=body.get("credential"),
        )
    except ValidationError as error:
        return _refusal("invalid_name", " ".join(error.messages), field="name")
    except PasskeyRefused as refused:
        return _refused(refused)
    messages.success(request, f"Passkey “{passkey.name}” added. You can sign in with it now.")
    if codes:  # the first factor: its recovery codes are shown once, on the next page
        recovery_display.hold(request, codes)
        return JsonResponse({"redirect": reverse("accounts:security_recovery_codes_new")})
    return JsonResponse({"redirect": _list_url()})


@require_POST
@login_required
def passkey_add_options(request: HttpRequest) -> JsonResponse:
    """Check the new passkey's name, then return the options to create it with (sudo mode)."""
    if not sudo.is_active(request):
        return _refusal(*SUDO_REQUIRED, status=403)
    form = PasskeyNameForm(request.POST)
    if not form.is_valid():
        return _refusal("invalid_name", " ".join(form.errors["name"]), field="name")
    return JsonResponse(passkeys.registration_options(request, request.user))


def _own_passkey(request: HttpRequest, pk: int) -> Passkey:
    return get_object_or_404(Passkey, pk=pk, user=request.user)


@login_required
def passkey_rename(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename one of the user's passkeys."""
    passkey = _own_passkey(request, pk)
    form = PasskeyNameForm(request.POST or None, initial={"name": passkey.name})
    renamed = attempt(
        request, passkey_services.passkey_rename, form, user=request.user, passkey=passkey
    )
    if renamed.done:
        message = f"Passkey renamed to “{renamed.result.name}”."
        return finish_with_partial(
            request, message, TEMPLATE, _context(request), "passkey-list", _list_url()
        )
    context = _context(request, renaming=passkey, rename_form=form)
    return render_page(request, TEMPLATE, context, dialog="rename-dialog")


@sensitive_post_parameters("password", "code")
@login_required
def passkey_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove one of the user's passkeys under sudo mode; the last factor needs the password
    too, and a current factor."""
    passkey = _own_passkey(request, pk)
    last = factors.factor_count(request.user) == 1
    removal = confirm_removal(request, last_factor=last)
    if removal.confirmed:
        passkey_services.passkey_remove(request=request, user=request.user, passkey=passkey)
        message = f"Passkey “{passkey.name}” removed; it no longer signs you in."
        return finish_with_partial(
            request, message, TEMPLATE, _context(request), "passkey-list", _list_url()
        )
    context = _context(request, removing=passkey, sudo_form=removal.form, last_factor=last)
    return render_page(request, TEMPLATE, context, dialog="remove-dialog")


@require_POST
def passkey_login_options(request: HttpRequest) -> JsonResponse:
    """Return the options of a passwordless sign-in: any passkey of this site may answer."""
    return JsonResponse(passkeys.authentication_options(request))


@require_POST
def passkey_login(request: HttpRequest) -> JsonResponse:
    """Sign in whoever the passkey names; answer where to go next (a safe `next`, or home)."""
    body = _json_body(request)
    if body is None:
        return _refusal(*BAD_BODY)
    try:
        passkey_services.passkey_sign_in(
            request=request, credential=body.get("credential"), ticket=body.get("ticket")
        )
    except PasskeyRefused as refused:
        return _refused(refused)
    response = JsonResponse({"redirect": _safe_next(request, body.get("next"))})
    browsers.note_sign_in(request, response, request.user)
    return response


def _safe_next(request: HttpRequest, target: Any) -> str:
    """Return `target` if it is an address on this site, else where sign-in leads by default."""
    safe = isinstance(target, str) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else resolve_url(settings.LOGIN_REDIRECT_URL)


NO_PENDING_SIGN_IN = ("no_pending_sign_in", "Sign in again: the second step lasts five minutes.")


@require_POST
def passkey_two_factor_options(request: HttpRequest) -> JsonResponse:
    """Return the options to give the second factor of a pending sign-in with a passkey."""
    user = pending.pending_user(request)
    if user is None:
        return _refusal(*NO_PENDING_SIGN_IN)
    return JsonResponse(passkeys.authentication_options(request, user=user))


@require_POST
def passkey_two_factor(request: HttpRequest) -> JsonResponse:
    """Finish a pending sign-in once one of that user's passkeys signed the challenge."""
    user = pending.pending_user(request)
    if user is None:
        return _refusal(*NO_PENDING_SIGN_IN)
    body = _json_body(request)
    if body is None:
        return _refusal(*BAD_BODY)
    try:
        passkeys.verify_assertion(request, body.get("credential"), user=user)
    except PasskeyRefused as refused:
        return _refused(refused)
    pending.complete(request, user, method=factors.PASSKEY)
    response = JsonResponse({"redirect": _safe_next(request, body.get("next"))})
    browsers.note_sign_in(request, response, user)
    return response


@require_POST
@login_required
def passkey_sudo_options(request: HttpRequest) -> JsonResponse:
    """Return the options to confirm it is the signed-in user with one of their passkeys."""
    if not Passkey.objects.filter(user=request.user).exists():
        return _refusal("no_passkey", "You have no passkey yet. Confirm with your password.")
    return JsonResponse(passkeys.authentication_options(request, user=request.user))


@require_POST
@login_required
def passkey_sudo(request: HttpRequest) -> JsonResponse:
    """Start sudo mode once one of the user's passkeys signed the challenge. Asked by the
    prompt to remove the last factor (`purpose`), it also counts as the current factor."""
    body = _json_body(request)
    if body is None:
        return _refusal(*BAD_BODY)
    try:
        passkey = passkeys.verify_assertion(request, body.get("credential"), user=request.user)
    except PasskeyRefused as refused:
        return _refused(refused)
    sudo.grant(request, method=factors.PASSKEY, target=passkey)
    if body.get("purpose") == "remove_factor":
        factor_proof.note(request, factors.PASSKEY)
    return JsonResponse({"confirmed": True})
