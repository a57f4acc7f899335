"""Run the WebAuthn ceremonies: register a passkey, and check one when it signs someone in.

The browser half lives in static/js/passkeys.js. Each ceremony starts with
options made here, whose random challenge is kept in the session: single use
(taken out before the answer is checked, whatever the outcome) and valid for
CHALLENGE_SECONDS. The login page's suggestions carry theirs in a signed ticket
instead, claimed once in the shared cache (suggestion_options). The relying
party (the site the passkeys belong to) is KEYWARD_WEBAUTHN_RP_ID and
KEYWARD_WEBAUTHN_ORIGIN; unset, it is the request's own host in DEBUG, else
KEYWARD_BASE_URL's.

Checking an assertion is under the sign-in limits (accounts/signin_limit.py):
refused while the account or the address is over its limit, and each failure
counts like a wrong password, per account when the account is known and per
client IP always.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core import signing
from django.http import HttpRequest
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts import shared_cache, signin_limit
from accounts.audit import audit_record
from accounts.models import Passkey, User
from accounts.shared_cache import SharedCacheUnavailable

logger = logging.getLogger("keyward.accounts.passkeys")

SESSION_KEY = "keyward_webauthn"
CHALLENGE_SECONDS = 5 * 60
TICKET_SALT = "keyward.passkeys.suggestion"
RP_NAME = "Keyward"
TRANSPORTS = frozenset(transport.value for transport in AuthenticatorTransport)

# What each refusal says to the person; the precise reason goes to the log and the audit.
MESSAGES = {
    "no_challenge": "This passkey request has expired or was already used. Try again.",
    "already_registered": "This passkey is already registered to an account.",
    "rate_limited": "Too many failed sign-in attempts. Wait a few minutes, then try again.",
    "unavailable": signin_limit.UNAVAILABLE_MESSAGE,
}
GENERIC_MESSAGE = "This passkey was not accepted. Try again, or use another way to sign in."


class PasskeyRefused(Exception):
    """A WebAuthn answer was refused; `reason` is a stable code, `message` what to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = MESSAGES.get(reason, GENERIC_MESSAGE)


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str


def relying_party(request: HttpRequest) -> RelyingParty:
    """Return the site passkeys are registered for and the origin their answers must come from."""
    origin = settings.KEYWARD_WEBAUTHN_ORIGIN
    if not origin:
        origin = (
            f"{request.scheme}://{request.get_host()}"
            if settings.DEBUG
            else settings.KEYWARD_BASE_URL
        )
    parts = urlsplit(origin)
    origin = f"{parts.scheme}://{parts.netloc}"
    return RelyingParty(id=settings.KEYWARD_WEBAUTHN_RP_ID or parts.hostname or "", origin=origin)


def _remember_challenge(
    request: HttpRequest, ceremony: str, challenge: bytes, user=None, **extra: str
) -> None:
    pending = request.session.get(SESSION_KEY) or {}
    pending[ceremony] = {
        "challenge": challenge.hex(),
        "expires": time.time() + CHALLENGE_SECONDS,
        "user": user.pk if user is not None else None,
        **extra,
    }
    request.session[SESSION_KEY] = pending


def _take_challenge(request: HttpRequest, ceremony: str, user=None) -> bytes:
    """Return the ceremony's pending challenge and forget it; refuse a missing or stale one."""
    pending = request.session.get(SESSION_KEY) or {}
    entry = pending.pop(ceremony, None)
    request.session[SESSION_KEY] = pending
    if not isinstance(entry, dict) or time.time() > entry.get("expires", 0):
        raise PasskeyRefused("no_challenge")
    if entry.get("user") != (user.pk if user is not None else None):
        raise PasskeyRefused("no_challenge")  # made for another person or ceremony
    return bytes.fromhex(entry["challenge"])


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        id=bytes(passkey.credential_id),
        transports=[AuthenticatorTransport(t) for t in passkey.transports if t in TRANSPORTS],
    )


def user_handle(user: User) -> bytes:
    """Return the opaque id authenticators keep for `user`: one per user, never their email."""
    existing = Passkey.objects.filter(user=user).values_list("user_handle", flat=True).first()
    return bytes(existing) if existing else secrets.token_bytes(32)


def registration_options(request: HttpRequest, user: User) -> dict[str, Any]:
    """Return the options for navigator.credentials.create() that add a passkey to `user`.

    A discoverable credential (one that can sign in alone) is preferred, not
    required, so security keys without storage still work as a second factor.
    The user's own passkeys are excluded: an authenticator is registered once.
    """
    rp = relying_party(request)
    handle = user_handle(user)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_id=handle,
        user_name=user.email,
        user_display_name=user.display_name,
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(passkey) for passkey in Passkey.objects.of(user)],
    )
    _remember_challenge(request, "register", options.challenge, user, handle=handle.hex())
    as_json = json.loads(options_to_json(options))
    # credProps tells whether the authenticator kept the account (a discoverable credential).
    as_json["extensions"] = {"credProps": True}
    return as_json


@dataclass(frozen=True)
class NewCredential:
    """A verified registration, ready to be stored as a Passkey."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    user_handle: bytes
    transports: list[str]
    discoverable: bool


def verify_registration(request: HttpRequest, user: User, data: Any) -> NewCredential:
    """Check the browser's answer to registration_options; raise PasskeyRefused if it fails."""
    pending = (request.session.get(SESSION_KEY) or {}).get("register") or {}
    handle = pending.get("handle", "")
    challenge = _take_challenge(request, "register", user)
    rp = relying_party(request)
    try:
        credential = parse_registration_credential_json(data)
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        logger.info("Passkey registration refused for user %s: %s", user.pk, error)
        raise PasskeyRefused("invalid") from None
    if Passkey.objects.filter(credential_id=verified.credential_id).exists():
        raise PasskeyRefused("already_registered")
    response = data.get("response") if isinstance(data, dict) else None
    transports = response.get("transports") if isinstance(response, dict) else None
    extensions = data.get("clientExtensionResults") if isinstance(data, dict) else None
    cred_props = extensions.get("credProps") if isinstance(extensions, dict) else None
    return NewCredential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        user_handle=bytes.fromhex(handle),
        transports=sorted({t for t in transports or () if isinstance(t, str) and t in TRANSPORTS}),
        discoverable=isinstance(cred_props, dict) and cred_props.get("rk") is True,
    )


def authentication_options(request: HttpRequest, *, user: User | None = None) -> dict[str, Any]:
    """Return the options for navigator.credentials.get().

    For a known `user` (a second factor, sudo mode) they list that user's
    passkeys; without one (passwordless sign-in) the list is empty, so the
    browser offers the discoverable credentials it holds for this site.
    """
    rp = relying_party(request)
    allowed = [_descriptor(p) for p in Passkey.objects.of(user)] if user is not None else []
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _remember_challenge(request, "authenticate", options.challenge, user)
    return json.loads(options_to_json(options))


def suggestion_options(request: HttpRequest) -> tuple[dict[str, Any], str]:
    """Return the options of the login page's passkey suggestions and their ticket.

    Nothing is stored as the page renders (no session for every visitor): the
    ticket is the challenge, signed and dated, and the sign-in claims it once in
    the shared cache (see _claim_ticket). A session written as the page loads
    would also race a sign-in started at once, whose state the session holds.
    """
    options = generate_authentication_options(
        rp_id=relying_party(request).id,
        timeout=CHALLENGE_SECONDS * 1000,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    ticket = signing.dumps(options.challenge.hex(), salt=TICKET_SALT)
    return json.loads(options_to_json(options)), ticket


def _claim_ticket(ticket: Any) -> bytes:
    """Return the challenge a suggestion's ticket carries, once; refuse a forged or stale one."""
    if not isinstance(ticket, str):
        raise PasskeyRefused("no_challenge")
    try:
        challenge = signing.loads(ticket, salt=TICKET_SALT, max_age=CHALLENGE_SECONDS)
    except signing.BadSignature:  # forged, or older than CHALLENGE_SECONDS
        raise PasskeyRefused("no_challenge") from None
    try:
        claimed = shared_cache.use(
            lambda cache: cache.add(f"passkey-ticket:{challenge}", 1, CHALLENGE_SECONDS + 60)
        )
    except SharedCacheUnavailable:
        raise PasskeyRefused("unavailable") from None
    if not claimed:  # used already
        raise PasskeyRefused("no_challenge")
    return bytes.fromhex(challenge)


def _check_limit(request: HttpRequest, user: User | None) -> None:
    try:
        if signin_limit.retry_after(request, user.get_username() if user else None):
            raise PasskeyRefused("rate_limited")
    except SharedCacheUnavailable:
        raise PasskeyRefused("unavailable") from None


def _count_failure(request: HttpRequest, user: User | None) -> None:
    """Count a failed assertion as Django counts a failed `authenticate` (signin_limit listens)."""
    credentials = {"username": user.get_username()} if user is not None else {}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)


def verify_assertion(
    request: HttpRequest, data: Any, *, user: User | None = None, ticket: Any = None
) -> Passkey:
    """Check the browser's answer to authentication_options (or, with the `ticket` of
    suggestion_options, to those); return the passkey that signed it.

    With `user` (a second factor, sudo mode) the passkey must be theirs. Without
    (passwordless sign-in) the passkey names its user, and the authenticator must
    have verified the person (PIN or biometrics), since nothing else is asked.
    Raises PasskeyRefused; unless the limit itself refused, the refusal is
    audited (`signin.passkey_failed`) and counts as a failed sign-in. Updates the
    passkey's sign count and last use.
    """
    _check_limit(request, user)
    passkey = None
    try:
        if ticket is not None and user is None:
            challenge = _claim_ticket(ticket)
        else:
            challenge = _take_challenge(request, "authenticate", user)
        passkey = _known_passkey(data, user)
        _check_limit(request, passkey.user)
        rp = relying_party(request)
        try:
            verified = verify_authentication_response(
                credential=parse_authentication_credential_json(data),
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=bytes(passkey.public_key),
                # Compared below, once the signature is known to be good.
                credential_current_sign_count=0,
                require_user_verification=user is None,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as error:
            logger.info("Passkey %s refused: %s", passkey.pk, error)
            raise PasskeyRefused("invalid") from None
        _record_use(passkey, verified.new_sign_count)
    except PasskeyRefused as refused:
        if refused.reason in ("rate_limited", "unavailable"):
            raise  # nothing was checked
        who = user or (passkey.user if passkey else None)
        _count_failure(request, who)
        audit_record(
            action="signin.passkey_failed",
            actor=who,
            target=passkey,
            request=request,
            details={"reason": refused.reason, "passwordless": user is None},
        )
        raise
    return passkey


def _known_passkey(data: Any, user: User | None) -> Passkey:
    """Return the stored passkey the answer names; refuse an unknown or foreign one."""
    try:
        credential = parse_authentication_credential_json(data)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise PasskeyRefused("invalid") from None
    passkey = Passkey.objects.select_related("user").filter(credential_id=credential.raw_id).first()
    if passkey is None or not passkey.user.is_active:
        raise PasskeyRefused("unknown_credential")
    if user is not None and passkey.user_id != user.pk:
        raise PasskeyRefused("wrong_user")
    handle = credential.response.user_handle
    if handle and bytes(handle) != bytes(passkey.user_handle):
        raise PasskeyRefused("wrong_user")
    return passkey


def _record_use(passkey: Passkey, new_count: int) -> None:
    """Store the new sign count and last use; refuse a count that did not grow (a clone).

    Authenticators that keep no counter always say 0. The update is conditional
    on the count read, so two answers racing with the same count cannot both pass.
    """
    old_count = passkey.sign_count
    if (new_count or old_count) and new_count <= old_count:
        logger.warning("Passkey %s sign count %s after %s", passkey.pk, new_count, old_count)
        raise PasskeyRefused("sign_count")
    now = timezone.now()
    updated = Passkey.objects.filter(pk=passkey.pk, sign_count=old_count).update(
        sign_count=new_count, last_used_at=now
    )
    if not updated and new_count:
        raise PasskeyRefused("sign_count")
    passkey.sign_count, passkey.last_used_at = new_count, now
