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
from django.views.decorators.debug import sensitive_post_parameters

from accounts import sudo
from accounts.form_errors import add_service_errors
from accounts.models import RecoveryCode, TotpDevice
from accounts.signin import factors
from accounts.signin.factor_forms import TotpRemoveForm, TotpSetupForm


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


def _setup_key(request: HttpRequest) -> str:
    """Return the sealed key being set up in this session, a new one if none or too old."""
    held = request.session.get(SETUP_SESSION_KEY)
    if isinstance(held, dict) and 0 <= time.time() - held.get("at", 0) < SETUP_SECONDS:
        return held["key"]
    sealed = factors.totp_setup_start(user=request.user)
    request.session[SETUP_SESSION_KEY] = {"key": sealed, "at": time.time()}
    return sealed


@sensitive_post_parameters("code")
@login_required
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Show a new key as a QR code and as text; store it once a code from the app matches."""
    try:
        sealed = _setup_key(request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:security")
    form = TotpSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
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
    response = render(request, "accounts/totp_setup.html", context)
    add_never_cache_headers(response)
    return response


def _show_recovery_codes(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    """Show new recovery codes, once: they are stored only as digests."""
    text = (
        "Keyward recovery codes for "
        + request.user.email
        + "\nEach code works once, in place of a code from your authenticator app.\n\n"
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
    """Replace the recovery codes, after a password or authenticator confirmation (sudo mode)."""
    if not factors.has_two_factor(request.user):
        messages.error(
            request, "Set up an authenticator app first: recovery codes stand in for it."
        )
        return redirect("accounts:security")
    form = None
    if not sudo.is_active(request):
        submitted = request.method == "POST" and sudo.SudoForm.submitted(request.POST)
        form = sudo.SudoForm(request.POST if submitted else None, request=request)
    if request.method == "POST" and (form is None or form.is_valid()):
        if form is not None:
            form.confirm()
        codes = factors.recovery_codes_regenerate(user=request.user, request=request)
        return _show_recovery_codes(request, codes, first=False)
    return render(request, "accounts/recovery_codes_regenerate.html", {"form": form})


@sensitive_post_parameters("password", "code")
@login_required
def totp_remove(request: HttpRequest) -> HttpResponse:
    """Remove the authenticator app: the password, and a current factor if it is the last one."""
    if "totp" not in factors.methods(request.user):
        messages.info(request, "No authenticator app is set up.")
        return redirect("accounts:security")
    last = factors.is_last_factor(request.user, factors.TOTP)
    form = TotpRemoveForm(request.POST or None, request=request, last_factor=last)
    if request.method == "POST" and form.is_valid():
        factors.totp_remove(user=request.user, request=request)
        messages.success(
            request,
            "Removed your authenticator app. "
            + ("Signing in now takes only your password." if last else ""),
        )
        return redirect("accounts:security")
    return render(request, "accounts/totp_remove.html", {"form": form, "last_factor": last})
