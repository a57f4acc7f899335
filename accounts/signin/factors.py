"""Add, check and remove a user's second factors: one function per action.

Every code is checked under the sign-in limits (accounts.signin_limit): a wrong
one counts as a failed sign-in of the account and the address, so an
authenticator code cannot be guessed faster than a password. A code (its time
step) is accepted once: the check and the record of its use are one
conditional UPDATE, so two requests racing with the same code cannot both pass.
"""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts import signin_limit
from accounts.audit import audit_record
from accounts.models import Passkey, RecoveryCode, TotpDevice, User
from accounts.security_emails import AUTHENTICATOR_APP, security_email
from accounts.shared_cache import SharedCacheUnavailable
from accounts.signin import recovery, sealing, totp

PASSKEY = "passkey"
TOTP = "totp"
RECOVERY_CODE = "recovery_code"
ISSUER = "Keyward"
SETUP_MISMATCH = "That code is not right. Enter the newest code the app shows for Keyward."
NO_FACTOR_FOR_CODES = (
    "Add a passkey or set up an authenticator app first: recovery codes stand in for them."
)


def methods(user: User) -> list[str]:
    """Return the ways `user` can give a second factor now, strongest first."""
    found = []
    if Passkey.objects.filter(user=user).exists():
        found.append(PASSKEY)
    if TotpDevice.objects.filter(user=user).exists():
        found.append(TOTP)
    if RecoveryCode.objects.filter(user=user).unused().exists():
        found.append(RECOVERY_CODE)
    return found


def has_two_factor_expression(user_ref: str = "pk") -> ExpressionWrapper:
    """Return whether the user at `user_ref` (a path from the row) has a second factor.

    A passkey or an authenticator app; recovery codes alone are not a factor,
    they only stand in for one. Lists annotate with it to know for every row in
    their one query; has_two_factor asks it for one user.
    """
    either = Exists(Passkey.objects.filter(user=OuterRef(user_ref))) | Exists(
        TotpDevice.objects.filter(user=OuterRef(user_ref))
    )
    return ExpressionWrapper(either, output_field=BooleanField())


def has_two_factor(user: User) -> bool:
    """Return whether `user` must give a second factor after the password (one query)."""
    return User.objects.filter(pk=user.pk).filter(has_two_factor_expression()).exists()


def method_of(code: str) -> str:
    """Return which kind of code `code` looks like: six digits are the app's."""
    compact = totp.normalize_code(code)
    return TOTP if len(compact) == totp.DIGITS and compact.isdigit() else RECOVERY_CODE


# Checking codes ---------------------------------------------------------------------------


def totp_use(user: User, code: str, *, at: float | None = None) -> bool:
    """Accept `code` from `user`'s confirmed authenticator once; return whether it was accepted."""
    device = TotpDevice.objects.filter(user=user).first()
    return device is not None and _use_step(device, code, at=at)


def _use_step(device: TotpDevice, code: str, *, at: float | None) -> bool:
    """Record the use of `code`'s time step on `device` unless that step or a later one was used."""
    try:
        key = sealing.unseal(device.sealed_key)
    except sealing.Unsealable:
        return False
    step = totp.matching_step(key, code, time.time() if at is None else at)
    if step is None:
        return False
    updated = (
        TotpDevice.objects.filter(pk=device.pk)
        .filter(Q(last_used_step__isnull=True) | Q(last_used_step__lt=step))
        .update(
            last_used_step=step,
            last_used_at=timezone.now(),
            sealed_key=sealing.reseal(device.sealed_key),
        )
    )
    return updated == 1


def recovery_code_use(user: User, code: str) -> bool:
    """Consume one of `user`'s unused recovery codes; return whether `code` was one."""
    normalized = recovery.normalize(code)
    if not recovery.is_well_formed(normalized):
        return False
    updated = (
        RecoveryCode.objects.unused()
        .filter(user=user, digest__in=recovery.candidate_digests(normalized))
        .update(used_at=timezone.now())
    )
    return updated == 1


REFUSALS = {
    "rate_limited": "Too many failed attempts. Wait a few minutes, then try again.",
    "unavailable": signin_limit.UNAVAILABLE_MESSAGE,
    "wrong_code": "That code is not right, or it was used already.",
}


def check_code(
    request: HttpRequest | None, user: User, code: str, *, method: str, purpose: str
) -> str | None:
    """Check `user`'s `method` code under the sign-in limits; return why it fails, or None.

    "rate_limited": too many failures lately (even a right code is refused);
    "unavailable": the limit's counts cannot be read; "wrong_code" (REFUSALS
    says each in words). `purpose` ("sign_in", "sudo", "remove_factor") is
    recorded with a failure.
    """
    username = user.get_username()
    try:
        if signin_limit.retry_after(request, username):
            return "rate_limited"
    except SharedCacheUnavailable:
        return "unavailable"
    use = recovery_code_use if method == RECOVERY_CODE else totp_use
    if use(user, code):
        return None
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
    audit_record(
        action="signin.two_factor_failed" if purpose == "sign_in" else "factor.check_failed",
        actor=user,
        request=request,
        details={"method": method, "purpose": purpose},
    )
    return "wrong_code"


# Setting up and removing ------------------------------------------------------------------


def _refuse_second_app(user: User) -> None:
    if TotpDevice.objects.filter(user=user).exists():
        raise ValidationError(
            "An authenticator app is already set up. Remove it first to set up another one.",
            code="already_set_up",
        )


def totp_setup_start(*, user: User) -> str:
    """Return a new key for `user`'s authenticator, sealed; nothing is stored until confirmed.

    The caller keeps it (the session) while the user scans it. Raise
    ValidationError if an app is set up already: replacing it means removing it first.
    """
    _refuse_second_app(user)
    return sealing.seal(totp.new_key())


def totp_setup_details(*, user: User, sealed_key: str) -> dict[str, str]:
    """Return what the set-up page shows: the otpauth URI (for the QR code) and the key as text."""
    key = sealing.unseal(sealed_key)
    return {
        "uri": totp.provisioning_uri(key, account=user.email, issuer=ISSUER),
        "key_text": totp.key_text(key),
    }


def totp_setup_confirm(
    *, user: User, sealed_key: str, code: str, request: HttpRequest | None = None
) -> list[str]:
    """Store `user`'s authenticator once a code from it matches; return new recovery codes, if made.

    The first factor comes with 10 recovery codes, shown once. Raise
    ValidationError ({"code": ...}) when the code is wrong or refused.
    """
    _refuse_second_app(user)
    try:
        key = sealing.unseal(sealed_key)
    except sealing.Unsealable:
        raise ValidationError(
            {"code": "Start the set-up again: this one expired."}, code="no_setup"
        ) from None
    # No sign-in limit here: the user sees the key, so a wrong code guesses nothing.
    step = totp.matching_step(key, code, time.time())
    if step is None:
        raise ValidationError({"code": SETUP_MISMATCH}, code="wrong_code")
    try:
        with transaction.atomic():
            now = timezone.now()
            TotpDevice.objects.create(
                user=user,
                sealed_key=sealed_key,
                created_at=now,
                last_used_step=step,
                last_used_at=now,
            )
            codes = recovery_codes_for_first_factor(user)
            audit_record(
                action="factor.added", actor=user, request=request, details={"method": TOTP}
            )
            security_email(
                user=user, event="factor_added", request=request, factor=AUTHENTICATOR_APP
            )
    except IntegrityError:  # a second tab confirmed first
        _refuse_second_app(user)
        raise
    return codes


def factor_count(user: User) -> int:
    """Return how many factors `user` has: each passkey and the authenticator app (one query)."""
    return (
        Passkey.objects.filter(user=user)
        .values("pk")
        .union(TotpDevice.objects.filter(user=user).values("pk"), all=True)
        .count()
    )


def recovery_codes_for_first_factor(user: User) -> list[str]:
    """Make `user`'s 10 recovery codes if the factor just added is their first; return them.

    Call it in the transaction that stores the factor. A user who already had a
    factor keeps their codes (and makes new ones on the Security page).
    """
    return _replace_recovery_codes(user) if factor_count(user) == 1 else []


def _replace_recovery_codes(user: User) -> list[str]:
    codes = recovery.new_codes()
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, digest=recovery.digest(code)) for code in codes]
    )
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User, request: HttpRequest | None = None) -> list[str]:
    """Replace `user`'s recovery codes with 10 new ones (the old ones stop working); return them.

    Raise ValidationError if the user has no second factor for them to stand in for.
    """
    if not has_two_factor(user):
        raise ValidationError(NO_FACTOR_FOR_CODES, code="no_factor")
    codes = _replace_recovery_codes(user)
    audit_record(
        action="factor.recovery_codes_regenerated",
        actor=user,
        request=request,
        details={"count": len(codes)},
    )
    security_email(user=user, event="recovery_codes_regenerated", request=request)
    return codes


def is_last_factor(user: User, method: str) -> bool:
    """Return whether `method` is the only factor `user` has (recovery codes aside)."""
    return [m for m in methods(user) if m != RECOVERY_CODE] == [method]


@transaction.atomic
def totp_remove(*, user: User, request: HttpRequest | None = None) -> None:
    """Remove `user`'s authenticator app; with the last factor go the recovery codes.

    The caller has checked the password (and a current factor for the last one).
    """
    removed, _ = TotpDevice.objects.filter(user=user).delete()
    if not removed:
        raise ValidationError("No authenticator app is set up.", code="not_set_up")
    if not has_two_factor(user):
        RecoveryCode.objects.filter(user=user).delete()
    audit_record(action="factor.removed", actor=user, request=request, details={"method": TOTP})
    security_email(user=user, event="factor_removed", request=request, factor=AUTHENTICATOR_APP)


@transaction.atomic
def two_factor_reset(*, user: User, actor: User, request: HttpRequest | None = None) -> bool:
    """Turn off `user`'s second factors for them (an operator's help after a lost device).

    Their passkeys, authenticator and recovery codes go; they sign in with the
    password and may set up new factors. Return whether there was anything to remove.
    """
    had = methods(user)
    if not had:
        return False
    Passkey.objects.filter(user=user).delete()
    TotpDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    audit_record(
        action="factor.reset", actor=actor, target=user, request=request, details={"methods": had}
    )
    security_email(user=user, event="two_factor_reset", request=request, by_operator=True)
    return True
