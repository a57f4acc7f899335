"""Every action on tokens: create, rename, rotate, revoke, and the queries the console needs.

Console views, the JSON API, Django admin and management commands call these
for every action; besides them only bookkeeping writes tokens (tokens/auth.py
records last use, services/policies.py erases stored copies, the key rotation
command re-encrypts them). Bad input raises ValidationError keyed by field,
a forbidden action PermissionDenied, and neither changes anything. Each
action writes an audit event naming its actor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_record
from accounts.errors import field_error
from accounts.http import limit_key
from accounts.locks import lock_workspace
from accounts.models import Workspace
from accounts.permissions import JOINED
from tokens import (
    lookup_limit,
    notifications,
    prefixes,
    rules,
    secrets,
    signals,
    validation,
    vault,
)
from tokens import scopes as scope_catalogue
from tokens.actors import Actor
from tokens.models import (
    RevealPolicy,
    RevokeReason,
    RotationGrace,
    Token,
    TokenKind,
    WorkspacePolicy,
)

LOOKUP_CHUNK = 10_000
# Workspace.token_policy, the reverse side of WorkspacePolicy.workspace.
POLICY_RELATION = WorkspacePolicy.workspace.field.remote_field
GRACE_PERIODS = {grace.value: grace.duration for grace in RotationGrace}


def workspace_policy(workspace: Workspace) -> WorkspacePolicy:
    """Return the workspace's token policy, creating the default one on first use.

    The one the request's membership query joined in (accounts.permissions.WORKSPACE_JOINS)
    when `workspace` came with it; otherwise read afresh.
    """
    joined = getattr(workspace, JOINED, False) and POLICY_RELATION.is_cached(workspace)
    if joined and (policy := POLICY_RELATION.get_cached_value(workspace)):
        return policy
    policy, _ = WorkspacePolicy.objects.get_or_create(workspace=workspace)
    return policy


def _audit(action: str, *, actor: Actor, token: Token, request, details: dict | None = None):
    audit_record(
        action=action,
        actor=actor,
        target=token,
        request=request,
        details={"name": token.name, "kind": token.kind, **(details or {})},
    )


def _announce(signal, **facts) -> None:
    """Send `signal` once the current transaction commits (an undone action is not news)."""
    transaction.on_commit(lambda: signal.send(sender=Token, **facts), robust=True)


def _name_conflict(workspace: Workspace, name: str, exclude: Token | None = None) -> bool:
    """Return whether an unrevoked token has `name`; retire expired holders of it first.

    An expired token keeps its name in the unique index until it is retired,
    so that a new token may take the name of one that has run out.
    """
    now = timezone.now()
    holders = Token.objects.filter(workspace=workspace, name=name, revoked_at__isnull=True)
    if exclude is not None:
        holders = holders.exclude(pk=exclude.pk)
    holders.filter(expires_at__lte=now).update(revoked_at=now, revoke_reason=RevokeReason.EXPIRED)
    return holders.filter(revoked_at__isnull=True).exists()


def _duplicate_name(name: str) -> ValidationError:
    return field_error(
        "name", f"An active token is already named “{name}”. Choose another name.", "duplicate_name"
    )


def _lock_for_issuing(workspace_id: int) -> bool:
    """Lock the workspace (accounts.locks.lock_workspace), then its policy row; return
    whether new tokens keep an encrypted copy.

    Called first in a transaction that issues a token, so that a switch to "show
    once" either waits for the new token (and erases its copy) or is seen by it.
    Every writer locks in this order, workspace, then policies, then tokens (policy_update,
    a limits ceiling's save, a revocation), so none can deadlock with another.
    """
    lock_workspace(workspace_id)
    policy = WorkspacePolicy.objects.select_for_update().filter(workspace_id=workspace_id).first()
    return (
        policy is not None
        and policy.reveal_policy == RevealPolicy.RETRIEVABLE
        and vault.is_configured()
    )


def _acting_token_id(actor: Actor) -> int | None:
    return actor.principal.token_pk if actor.principal is not None else None


def _maker(token_pk: int | None, *, lock: bool = False) -> Token | None:
    """Return the token with `token_pk`, the maker that bounds a token, or None for none.

    With `lock` (in the transaction that issues a token, before any other token row)
    the maker's row is locked and must still work: a concurrent revocation of the
    maker then either waits and revokes the new token with it, or is seen here.
    """
    if token_pk is None:
        return None
    makers = Token.objects.prefetch_related("resources").filter(pk=token_pk)
    if not lock:
        return makers.first()
    maker = makers.select_for_update(of=("self",)).active().first()
    if maker is None:
        raise ValidationError(
            "The token that makes this one no longer works; create a new token instead.",
            code="maker_inactive",
        )
    return maker


def _issue(token: Token, *, resources: list, keep_copy: bool) -> tuple[Token, str]:
    """Give the unsaved `token` a fresh secret and insert it; return it with the secret.

    With `keep_copy` (see _lock_for_issuing) an encrypted copy of the secret is kept.
    """
    value = secrets.generate(settings.KEYWARD_TOKEN_PREFIX, token.kind)
    token.prefix = secrets.kind_prefix(settings.KEYWARD_TOKEN_PREFIX, token.kind)
    token.digest = secrets.digest(value)
    token.last_four = secrets.last_four(value)
    token.encrypted_secret = vault.encrypt(value) if keep_copy else ""
    token.save(force_insert=True)
    if resources:
        token.resources.set(resources)
    via = "rotation" if token.rotated_from_id else "create"
    _announce(signals.token_issued, token=token, via=via)
    return token, value


def token_create(
    *,
    actor: Actor,
    workspace: Workspace,
    name: str,
    scopes: Iterable[str],
    kind: str = TokenKind.WORKSPACE,
    description: str = "",
    resource_ids: Iterable = (),
    allowed_ips: Iterable[str] | str = (),
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> tuple[Token, str]:
    """Create a token and return it with its secret, which is never available again."""
    if kind not in TokenKind.values:
        raise field_error("kind", "Choose workspace or personal.", "invalid_kind")
    policy = workspace_policy(workspace)
    if not rules.may_create(actor, kind, policy):
        raise PermissionDenied("Your role does not allow creating this kind of token.")
    name = validation.clean_name(name)
    description = validation.clean_description(description)
    cleaned_scopes = validation.clean_scopes(
        scopes, rules.grantable_scopes(actor, workspace.pk), workspace.pk
    )
    ranges = validation.clean_allowed_ips(allowed_ips)
    resources = validation.clean_resources(workspace, resource_ids)
    expires_at = validation.clean_within_maker(
        _maker(_acting_token_id(actor)),
        kind=kind,
        resources=resources,
        allowed_ips=ranges,
        expires_at=expires_at,
    )
    expires_at = validation.clean_expiry(expires_at, policy)
    owner_id = actor.user_id if kind == TokenKind.PERSONAL else None
    try:
        with transaction.atomic():
            keep_copy = _lock_for_issuing(workspace.pk)
            _maker(_acting_token_id(actor), lock=True)
            if resources:  # again, under the lock a resource's deletion takes first
                resources = validation.clean_resources(workspace, [r.pk for r in resources])
            if _name_conflict(workspace, name):
                raise _duplicate_name(name)
            token, value = _issue(
                Token(
                    workspace=workspace,
                    kind=kind,
                    owner_id=owner_id,
                    created_by_id=actor.user_id,
                    created_by_token_id=_acting_token_id(actor),
                    name=name,
                    description=description,
                    scopes=cleaned_scopes,
                    allowed_ips=ranges,
                    expires_at=expires_at,
                ),
                resources=resources,
                keep_copy=keep_copy,
            )
            _audit(
                "token.created",
                actor=actor,
                token=token,
                request=request,
                details={
                    "scopes": cleaned_scopes,
                    "expires_at": expires_at,
                    "resources": [r.name for r in resources],
                    "allowed_ips": ranges,
                },
            )
            notifications.notify_token_created(token)
    except IntegrityError:  # a concurrent create took the name
        raise _duplicate_name(name) from None
    return token, value


def token_rename(
    *,
    actor: Actor,
    token: Token,
    name: str,
    description: str | None = None,
    request: HttpRequest | None = None,
) -> Token:
    """Rename a token and, when given, change its description."""
    if not rules.may_manage(actor, token):
        raise PermissionDenied("You may not rename this token.")
    name = validation.clean_name(name)
    new_description = (
        token.description if description is None else validation.clean_description(description)
    )
    if name == token.name and new_description == token.description:
        return token
    old_name, old_description = token.name, token.description
    try:
        with transaction.atomic():
            # Before the tokens _name_conflict and save lock: the order of every writer.
            lock_workspace(token.workspace_id)
            if (
                token.revoked_at is None
                and name != old_name
                and _name_conflict(token.workspace, name, exclude=token)
            ):
                raise _duplicate_name(name)
            token.name, token.description = name, new_description
            token.save(update_fields=["name", "description"])
            _audit(
                "token.renamed",
                actor=actor,
                token=token,
                request=request,
                details={
                    "from": old_name,
                    "to": name,
                    "description_changed": old_description != new_description,
                },
            )
    except IntegrityError:
        token.name, token.description = old_name, old_description
        raise _duplicate_name(name) from None
    return token


def token_rotation_expiry(*, actor: Actor, token: Token) -> datetime | None:
    """Return the expiry the token's successor would get if the actor rotated it now."""
    policy = workspace_policy(token.workspace)
    maker = _maker(_acting_token_id(actor) or token.created_by_token_id)
    return validation.rotation_expiry(token, policy, maker, timezone.now())


def _existing_scopes(token: Token) -> tuple[list[str], list[str]]:
    """Return the token's scopes the workspace's catalogue still has, and those it lost.

    A scope leaves the catalogue when a deployment drops it from its settings or a
    service's slug stops naming one (the gateway withdraws those from tokens as it
    happens; this covers what was stored before). A successor gets only scopes that
    still exist: a name that means nothing now must not mean something later.
    """
    known = scope_catalogue.catalogue(token.workspace_id)
    kept = [name for name in token.scopes if name in known]
    return kept, [name for name in token.scopes if name not in known]


def token_rotate(
    *,
    actor: Actor,
    token: Token,
    grace: str | timedelta = "none",
    request: HttpRequest | None = None,
) -> tuple[Token, str]:
    """Replace a token by a new secret with the same settings.

    The old token keeps working for the grace period (none, 1h, 1d, 7d), then
    stops. The new token follows the current policies and the bounds of its maker:
    the token rotating it, else the token that made the old one (see
    validation.rotation_expiry and clean_within_maker). Scopes that no longer exist
    are not copied (see _existing_scopes; the rotation's audit event lists them).
    """
    if not rules.may_manage(actor, token):
        raise PermissionDenied("You may not rotate this token.")
    if isinstance(grace, str):
        if grace not in GRACE_PERIODS:
            raise field_error(
                "grace", f"Choose one of: {', '.join(GRACE_PERIODS)}.", "invalid_grace"
            )
        grace = GRACE_PERIODS[grace]
    now = timezone.now()
    with transaction.atomic():
        keep_copy = _lock_for_issuing(token.workspace_id)
        # The new token's maker: the token rotating it, else the old one's (never changes).
        # Locked before the token, in the order revocation locks makers and what they made.
        maker_id = _acting_token_id(actor) or token.created_by_token_id
        maker = _maker(maker_id, lock=True)
        token = (
            Token.objects.select_for_update(of=("self",))
            .select_related("workspace")
            .get(pk=token.pk)
        )
        if not token.is_active or token.in_grace(now):
            raise ValidationError(
                "Only an active token that was not rotated already can be rotated.",
                code="not_rotatable",
            )
        scopes, dropped = _existing_scopes(token)
        beyond = set(scopes) - rules.grantable_scopes(actor, token.workspace_id)
        if beyond:
            raise PermissionDenied(
                f"Your role cannot grant {', '.join(sorted(beyond))}, which this token holds."
            )
        resources = list(token.resources.all())
        policy = workspace_policy(token.workspace)
        expires_at = validation.rotation_expiry(token, policy, maker, now)
        validation.clean_within_maker(
            maker,
            kind=token.kind,
            resources=resources,
            allowed_ips=list(token.allowed_ips),
            expires_at=expires_at,
        )
        expires_at = validation.clean_expiry(expires_at, policy)
        token.revoked_at = now + grace
        token.revoke_reason = RevokeReason.ROTATION
        token.revoked_by_id = actor.user_id
        token.encrypted_secret = ""  # its replacement is the value to reveal from now on
        token.save(update_fields=["revoked_at", "revoke_reason", "revoked_by", "encrypted_secret"])
        _announce(signals.token_revoked, token=token, reason=RevokeReason.ROTATION)
        new_token, value = _issue(
            Token(
                workspace=token.workspace,
                kind=token.kind,
                owner_id=token.owner_id,
                # A person rotating becomes the creator; a token or the system keeps the old
                # one's. The maker bounds the new token and takes it along when revoked
                # (_revoke_made_by).
                created_by_id=actor.user_id or token.created_by_id,
                created_by_token_id=maker_id,
                name=token.name,
                description=token.description,
                scopes=scopes,
                allowed_ips=list(token.allowed_ips),
                expires_at=expires_at,
                rotated_from=token,
            ),
            resources=resources,
            keep_copy=keep_copy,
        )
        _audit(
            "token.rotated",
            actor=actor,
            token=token,
            request=request,
            details={
                "grace_seconds": int(grace.total_seconds()),
                "stops_at": token.revoked_at,
                "new_token": new_token.public_id,
                **({"scopes_dropped": dropped} if dropped else {}),
            },
        )
        _audit(
            "token.created",
            actor=actor,
            token=new_token,
            request=request,
            details={"rotated_from": token.public_id, "scopes": new_token.scopes},
        )
    return new_token, value


def token_revoke(
    *,
    actor: Actor,
    token: Token,
    reason: str = RevokeReason.USER,
    request: HttpRequest | None = None,
    details: dict | None = None,
) -> Token:
    """Revoke a token at once; revoking a revoked token changes nothing."""
    return _revoke(actor=actor, token=token, reason=reason, request=request, details=details)[0]


def _revoke(
    *,
    actor: Actor,
    token: Token,
    reason: str,
    request: HttpRequest | None,
    details: dict | None,
    workspace_locked: bool = False,
) -> tuple[Token, bool]:
    """Revoke a token under a row lock; return it and whether this call revoked it.

    It takes no savepoint: inside a caller's transaction, an error here must end
    that transaction, not be caught and worked around. `workspace_locked`: the caller
    holds the token's workspace lock already.
    """
    if not rules.may_revoke(actor, token):
        raise PermissionDenied("You may not revoke this token.")
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        # The workspace first, as every writer (accounts.locks): a revocation that goes on
        # to the tokens this one made, or to another of an owner's, queues behind an issuer
        # or a ceiling's save instead of holding a token one of them waits for.
        if not workspace_locked:
            lock_workspace(token.workspace_id)
        token = (
            Token.objects.select_for_update(of=("self",))
            .select_related("workspace", "owner", "created_by")  # for the emails that follow
            .get(pk=token.pk)
        )
        if token.revoked_at is not None and token.revoked_at <= now:
            return token, False
        token.revoked_at = now
        token.revoke_reason = reason
        token.revoked_by_id = actor.user_id
        token.encrypted_secret = ""  # nobody needs the value of a token that stopped working
        token.save(update_fields=["revoked_at", "revoke_reason", "revoked_by", "encrypted_secret"])
        _audit(
            "token.revoked",
            actor=actor,
            token=token,
            request=request,
            details={"reason": reason, **(details or {})},
        )
        _announce(signals.token_revoked, token=token, reason=reason)
        _revoke_made_by(token, actor=actor, request=request)
    return token, True


def _revoke_made_by(parent: Token, *, actor: Actor, request: HttpRequest | None) -> None:
    """Revoke the active tokens `parent` made through the API, and theirs: child tokens
    die with the parent, whoever revokes it and why.

    A rotated token's successor carries on its makings: revoking the successor
    revokes what its predecessors made, while revoking a predecessor whose
    successor still works (ending a grace period early) revokes nothing else.
    """
    makers = [parent.pk]
    predecessor_id = parent.rotated_from_id
    while predecessor_id is not None and predecessor_id not in makers:
        makers.append(predecessor_id)
        predecessor = Token.objects.filter(pk=predecessor_id).values_list("rotated_from_id")
        predecessor_id = predecessor.first()[0]
    # One query, with the successor's test inside: a token revoked costs one more query.
    successor = Token.objects.active().filter(rotated_from_id=parent.pk)
    children = (
        Token.objects.active()
        .filter(created_by_token_id__in=makers)
        .exclude(Exists(successor))
        .order_by("pk")
    )
    # The actor may revoke the parent; what it made goes with it, whatever the actor's role.
    cascade = replace(actor, bypass_rules=True)
    for child in children:
        _revoke(
            actor=cascade,
            token=child,
            reason=RevokeReason.PARENT_REVOKED,
            request=request,
            details={"parent": parent.public_id},
            workspace_locked=True,  # a token's makings are in its workspace
        )


def tokens_visible_to(actor: Actor, workspace: Workspace):
    """Return the workspace's tokens the actor may list."""
    return Token.objects.visible_to(
        workspace_id=workspace.pk,
        user_id=actor.user_id,
        sees_all=rules.sees_all_tokens(actor),
    )


def token_for(actor: Actor, workspace: Workspace, public_id: str) -> Token:
    """Return the token with `public_id` if the actor may see it, else raise Token.DoesNotExist."""
    return (
        tokens_visible_to(actor, workspace)
        .select_related("workspace", "owner", "created_by", "created_by_token")
        .get(public_id=public_id)
    )


def personal_tokens_revoke(
    *,
    workspace_id: int | None,
    user_id: int,
    reason: str,
    actor: Actor,
    keep_scopes: set[str] | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Revoke a user's active personal tokens in a workspace (None: in every workspace);
    with `keep_scopes`, only those holding a scope outside it. Return how many were revoked.

    Unlike the batch jobs it does not go on past a token that fails: it runs inside
    the change that calls it (a removal, a demotion, a deactivation), which must be
    undone rather than leave a token of someone who lost the right to it.
    """
    candidates = Token.objects.active().filter(owner_id=user_id, kind=TokenKind.PERSONAL)
    if workspace_id is not None:
        candidates = candidates.filter(workspace_id=workspace_id)
    revoked = 0
    # In the order every writer of several workspaces locks them (accounts.locks).
    for token in candidates.select_related("workspace").order_by("workspace_id", "pk"):
        if keep_scopes is not None and set(token.scopes) <= keep_scopes:
            continue
        _, revoked_now = _revoke(
            actor=actor, token=token, reason=reason, request=request, details=None
        )
        revoked += revoked_now
    return revoked


def secrets_look_valid(value: str) -> bool:
    """Return whether `value` has our tokens' format and checksum (no query)."""
    return bool(prefixes.parser().parse((value or "").strip()))


def token_find_by_value(value: str, workspace: Workspace | None = None) -> Token | None:
    """Return the token whose secret is `value` (in `workspace`, when given), or None.

    A value that fails the format or checksum check costs no query.
    """
    value = (value or "").strip()
    if not secrets_look_valid(value):
        return None
    tokens = Token.objects.select_related("workspace", "owner", "created_by")
    if workspace is not None:
        tokens = tokens.filter(workspace=workspace)
    return tokens.filter(digest=secrets.digest(value)).first()


def token_check(
    *, actor: Actor, workspace: Workspace | None, value: str, request: HttpRequest | None = None
) -> Token | None:
    """Find the token a pasted value belongs to and record that it was presented.

    Admins and Managers see only their workspace's tokens; an operator
    (workspace None) sees any. The audit event says the value was exposed to
    whoever pasted it, which matters when deciding whether to revoke. A value
    that is no token counts as a failed lookup from the request's address, like
    a bad Bearer token; past the limit it raises ValidationError (`rate_limited`).
    """
    token = token_find_by_value(value, workspace)
    if token is not None:
        _audit("token.checked", actor=actor, token=token, request=request)
    elif request is not None:
        try:
            lookup_limit.count_failure(limit_key(request))
        except lookup_limit.TooManyFailures as over:
            raise ValidationError(
                "Too many values that are no token were checked from your address. "
                f"Try again in {over.minutes} minute(s).",
                code="rate_limited",
            ) from None
    return token


@dataclass(frozen=True)
class LeakMatch:
    """A token reported as leaked, whether the report revoked it, and whom it emails about it."""

    token: Token
    revoked_now: bool
    emailed: tuple[str, ...] = ()

    def outcome(self) -> str:
        """Return what the revocation did, in words that follow the token's name."""
        if not self.revoked_now:
            if self.token.revoked_at is not None and self.token.revoked_at <= timezone.now():
                return "was already revoked; nothing changed."
            return "no longer worked (expired); nothing changed."
        if not self.emailed:
            return "revoked as leaked. Nobody was emailed: it has no active owner or Admin."
        # The emails go out after commit and may still fail: say they are on their way.
        return f"revoked as leaked. Emailing {', '.join(self.emailed)}."


def tokens_revoke_leaked(
    reported: list[tuple[str, dict]], *, request: HttpRequest | None = None
) -> dict[str, LeakMatch]:
    """Revoke the active tokens among reported values; return a LeakMatch per value ours.

    `reported` pairs each value with where it was found (url, source, type).
    One query finds every reported token; each active one is revoked (reason
    leak, the finding in the audit event) and its people are emailed. A value
    reported again finds its token already revoked and changes nothing.
    """
    by_digest = {secrets.digest(value): (value, found) for value, found in reported}
    digests = list(by_digest)
    known: dict[str, LeakMatch] = {}
    revoked: list[tuple[Token, dict]] = []
    actor = Actor.system("GitHub secret scanning")
    tokens = Token.objects.select_related("workspace")
    # Chunks keep each query under the databases' parameter limits (SQLite: 32,766).
    found_tokens = [
        token
        for start in range(0, len(digests), LOOKUP_CHUNK)
        for token in tokens.filter(digest__in=digests[start : start + LOOKUP_CHUNK])
    ]
    with transaction.atomic():  # the workspace locks hold until every token is revoked
        locked: set[int] = set()
        # Revoked in the order every writer of several workspaces locks them (accounts.locks).
        for token in sorted(found_tokens, key=lambda token: (token.workspace_id, token.pk)):
            value, found = by_digest[token.digest]
            revoked_now = False
            if token.is_active:
                if token.workspace_id not in locked:
                    lock_workspace(token.workspace_id)
                    locked.add(token.workspace_id)
                leak = {"url": found.get("url", ""), "source": found.get("source", "")}
                token, revoked_now = _revoke(
                    actor=actor,
                    token=token,
                    reason=RevokeReason.LEAK,
                    request=request,
                    details={"found_by": "github", "type": found.get("type", ""), **leak},
                    workspace_locked=True,
                )
                if revoked_now:  # a concurrent delivery may have revoked it first
                    revoked.append((token, leak))
            known[value] = LeakMatch(token, revoked_now=revoked_now)
    notifications.notify_tokens_leaked(revoked)
    return known


def token_revoke_as_leaked(
    *, actor: Actor, token: Token, request: HttpRequest | None = None
) -> LeakMatch:
    """Revoke a token whose value a member or operator reports as leaked, and email its people.

    Return whether this call revoked it and whom it emailed; a token that no
    longer works is left as it is and nobody is emailed.
    """
    if not token.is_active:
        return LeakMatch(token, revoked_now=False)
    token, revoked_now = _revoke(
        actor=actor,
        token=token,
        reason=RevokeReason.LEAK,
        request=request,
        details={"found_by": "operator" if actor.bypass_rules else "member"},
    )
    if not revoked_now:
        return LeakMatch(token, revoked_now=False)
    leak = {"url": "", "source": "", "found_by": actor.label}
    emailed = notifications.notify_tokens_leaked([(token, leak)])[token.pk]
    return LeakMatch(token, revoked_now=True, emailed=tuple(emailed))


def token_reveal(
    *, actor: Actor, token: Token, purpose: str = "reveal", request: HttpRequest | None = None
) -> str:
    """Return the stored secret of a token under the retrievable policy, and audit it.

    The caller must have confirmed the person's password recently (sudo mode).
    """
    if not rules.may_reveal(actor, token):
        raise PermissionDenied("You may not see this token's value.")
    if workspace_policy(token.workspace).reveal_policy != RevealPolicy.RETRIEVABLE:
        raise ValidationError("This workspace shows tokens only once.", code="show_once")
    if not token.is_active:
        raise ValidationError("This token no longer works.", code="inactive")
    try:
        secret = vault.decrypt(token.encrypted_secret)
    except vault.SecretUnavailable as error:
        raise ValidationError(str(error), code="no_copy") from None
    _audit(
        "token.revealed",
        actor=actor,
        token=token,
        request=request,
        details={"purpose": "copy" if purpose == "copy" else "reveal"},
    )
    return secret


def ended_copies_erase() -> int:
    """Erase the stored copies of tokens that no longer work; return how many were erased.

    Revoking erases a copy at once; expiry happens without any request, so the
    hourly job (send_expiry_reminders) and the key rotation command call this.
    """
    return Token.objects.ended().erase_copies()
