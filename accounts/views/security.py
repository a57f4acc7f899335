"""Account → Security: the password, authenticator app and recovery codes of the signed-in user."""

from __future__ import annotations

import time
from urllib.parse import quote

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import sudo
from accounts.form_errors import add_service_errors
from accounts.models import RecoveryCode, TotpDevice
from accounts.signin import factors, recovery_display
from accounts.signin.factor_forms import TotpSetupForm
from accounts.signin.removal import confirm_removal


@login_required
def security(request: HttpRequest) -> HttpResponse:
    """Show how the user signs in and what they can change about it."""
    user = request.user
    context = {
        "totp_device": TotpDevice.objects.filter(user=user).first(),
        "recovery_left": RecoveryCode.objects.filter(user=user).unused().count(),
        "has_two_factor": factors.has_two_factor(user),
    }
    return render(request, "accounts/security.html", context)


def _qr_svg(uri: str) -> str:
    """Return the QR code of `uri` as inline SVG (no script or style: the CSP allows it)."""
    return segno.make(uri, error="m").svg_inline(
        scale=5, border=3, dark="#000", light="#fff", title="QR code for your authenticator app"
    )


SETUP_SESSION_KEY = "keyward_totp_setup"
SETUP_SECONDS = 30 * 60  # how long the key on screen waits for its first code


def _held_key(request: HttpRequest) -> str | None:
    """Return the sealed key being set up in this session, or None if none or too old."""
    held = request.session.get(SETUP_SESSION_KEY)
    if isinstance(held, dict) and 0 <= time.time() - held.get("at", 0) < SETUP_SECONDS:
        return held["key"]
    return None


@sensitive_post_parameters("password", "code")
@login_required
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Ask who it is (sudo mode), then show a new key as a QR code and as text; store it once
    a code from the app matches."""
    sealed = _held_key(request)
    if sealed is None:  # a set-up starts in sudo mode; one under way may finish after it
        try:
            sealed = factors.totp_setup_start(user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("accounts:security")
        sudo_form = sudo.prompt(request)
        if sudo_form is not None:
            return _no_store(render(request, "accounts/totp_setup.html", {"sudo_form": sudo_form}))
        request.session[SETUP_SESSION_KEY] = {"key": sealed, "at": time.time()}
        form = TotpSetupForm()  # a POST here answered the sudo prompt, not this form
    else:
        form = TotpSetupForm(request.POST or None)
    if request.method == "POST" and form.is_bound and form.is_valid():
        try:
            codes = factors.totp_setup_confirm(
                user=request.user,
                sealed_key=sealed,
                code=form.cleaned_data["code"],
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            request.session.pop(SETUP_SESSION_KEY, None)
            if codes:
                return _show_recovery_codes(request, codes, first=True)
            messages.success(request, "Your authenticator app is set up.")
            return redirect("accounts:security")
    details = factors.totp_setup_details(user=request.user, sealed_key=sealed)
    context = {"form": form, "qr_svg": _qr_svg(details["uri"]), "key_text": details["key_text"]}
    return _no_store(render(request, "accounts/totp_setup.html", context))


def _no_store(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    return response


@never_cache
@login_required
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    """Show the recovery codes made with the user's first passkey, once."""
    codes = recovery_display.take(request)
    if not codes:
        messages.info(request, "Those recovery codes were shown already: make new ones if needed.")
        return redirect("accounts:security")
    return _show_recovery_codes(request, codes, first=True)


def _show_recovery_codes(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    """Show new recovery codes, once: they are stored only as digests."""
    text = (
        "Keyward recovery codes for "
        + request.user.email
        + "\nEach code works once, in place of a passkey or a code from your authenticator app."
        + "\n\n"
        + "\n".join(codes)
        + "\n"
    )
    context = {
        "codes": codes,
        "first": first,
        "codes_text": text,
        "download_href": "data:text/plain;charset=utf-8," + quote(text),
    }
    response = render(request, "accounts/recovery_codes.html", context)
    add_never_cache_headers(response)
    return response


@sensitive_post_parameters("password", "code")
@login_required
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    """Replace the recovery codes, once the user confirmed it is them (sudo mode)."""
    if not factors.has_two_factor(request.user):
        messages.error(request, factors.NO_FACTOR_FOR_CODES)
        return redirect("accounts:security")
    form = sudo.prompt(request)
    if request.method == "POST" and form is None:
        codes = factors.recovery_codes_regenerate(user=request.user, request=request)
        return _show_recovery_codes(request, codes, first=False)
    return render(request, "accounts/recovery_codes_regenerate.html", {"form": form})


@sensitive_post_parameters("password", "code")
@login_required
def totp_remove(request: HttpRequest) -> HttpResponse:
    """Remove the authenticator app under sudo mode; the last factor needs the password too,
    and a current factor."""
    if "totp" not in factors.methods(request.user):
        messages.info(request, "No authenticator app is set up.")
        return redirect("accounts:security")
    last = factors.factor_count(request.user) == 1
    removal = confirm_removal(request, last_factor=last)
    if removal.confirmed:
        factors.totp_remove(user=request.user, request=request)
        messages.success(
            request,
            "Removed your authenticator app. "
            + ("Signing in now takes only your password." if last else ""),
        )
        return redirect("accounts:security")
    context = {"form": removal.form, "last_factor": last}
    return render(request, "accounts/totp_remove.html", context)
