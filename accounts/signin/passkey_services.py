"""Add, rename, remove and sign in with passkeys: the actions, each audited once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import Passkey, RecoveryCode, User
from accounts.security_emails import PASSKEY, security_email
from accounts.signin import factors, passkeys
from accounts.text import clean_text

# The session's backend after a passkey sign-in: it loads the user back on each request.
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"
NAME_REQUIRED = "Give the passkey a name, such as the device it is on."


def passkey_name(name: str) -> str:
    """Return `name` cleaned as a passkey's name; raise ValidationError({"name": ...})."""
    return clean_text(Passkey, "name", name, label="name", required=NAME_REQUIRED)


def _tell(
    request: HttpRequest | None, user: User, event: str, passkey: Passkey, *, by_operator=False
) -> None:
    security_email(
        user=user,
        event=event,
        request=request,
        by_operator=by_operator,
        factor=PASSKEY,
        name=passkey.name,
    )


def passkey_register(
    *, request: HttpRequest, user: User, name: str, credential: Any
) -> tuple[Passkey, list[str]]:
    """Store the passkey the browser just created for `user` (checked against the session's
    challenge); audit it and email the user. Return it and, when it is the user's first
    factor, their new recovery codes (to show once). Raise ValidationError or PasskeyRefused.

    The caller must have confirmed the person recently (sudo mode).
    """
    name = passkey_name(name)
    new = passkeys.verify_registration(request, user, credential)
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=name,
                credential_id=new.credential_id,
                public_key=new.public_key,
                user_handle=new.user_handle,
                sign_count=new.sign_count,
                transports=new.transports,
                discoverable=new.discoverable,
            )
            audit_record(
                action="factor.passkey_added",
                actor=user,
                target=passkey,
                request=request,
                details={"discoverable": new.discoverable, "transports": new.transports},
            )
            _tell(request, user, "factor_added", passkey)
            codes = factors.recovery_codes_for_first_factor(user)
    except IntegrityError:
        raise passkeys.PasskeyRefused("already_registered") from None
    return passkey, codes


def passkey_rename(*, request: HttpRequest, user: User, passkey: Passkey, name: str) -> Passkey:
    """Rename one of `user`'s passkeys (audited)."""
    old, passkey.name = passkey.name, passkey_name(name)
    if passkey.name != old:
        with transaction.atomic():
            passkey.save(update_fields=["name"])
            audit_record(
                action="factor.passkey_renamed",
                actor=user,
                target=passkey,
                request=request,
                details={"old_name": old},
            )
    return passkey


def passkey_remove(
    *, request: HttpRequest | None, user: User, passkey: Passkey, actor: User | None = None
) -> None:
    """Remove one of `user`'s passkeys; audit it and email the user. With the last factor go
    the recovery codes.

    The caller must have confirmed the person recently (sudo mode), and for the
    last factor their password and a current factor (factor_forms.RemoveFactorForm);
    or `actor` is the operator removing it for them (a lost device).
    """
    actor = actor or user
    with transaction.atomic():
        audit_record(
            action="factor.passkey_removed",
            actor=actor,
            target=passkey,
            request=request,
            details={"by_operator": True} if actor != user else None,
        )
        _tell(request, user, "factor_removed", passkey, by_operator=actor != user)
        passkey.delete()
        if not factors.has_two_factor(user):
            RecoveryCode.objects.filter(user=user).delete()


def passkey_sign_in(*, request: HttpRequest, credential: Any, ticket: Any = None) -> User:
    """Sign in whoever the browser's discoverable passkey names, without a password.

    `ticket`: the login page's suggestions answered (passkeys.suggestion_options).
    Rotates the session (Django's `login`) and audits `signin.passkey`. Raise
    PasskeyRefused (counted by the sign-in limits, audited by verify_assertion).
    """
    passkey = passkeys.verify_assertion(request, credential, ticket=ticket)
    login(request, passkey.user, backend=SESSION_BACKEND)
    audit_record(
        action="signin.passkey",
        actor=passkey.user,
        target=passkey,
        request=request,
        details={"passwordless": True},
    )
    return passkey.user
