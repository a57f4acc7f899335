"""Make a resource an HTTP service, change its match rules and method scopes, or make it a
label again: the one way console, API, admin and commands change services.

Bad input raises ValidationError keyed by field (`slug`, `rules`, `method_scopes`),
a forbidden action PermissionDenied; neither changes anything. Each change writes
an audit event, and the workspace's services version changes with it (receivers).

A service's scopes (<slug>:read, <slug>:write) live on tokens as plain names. When a
slug stops naming a service (the service is deleted) every token holding its scopes
loses them in the same transaction (scopes_withdraw); a new slug moves them to the
new names (scopes_rename); and
a service that takes a slug starts with no token holding its scopes: a token granted
access to one service never reaches another that later takes its name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from accounts.audit import audit_event, audit_record, audit_record_all
from accounts.errors import field_error
from accounts.locks import lock_workspace
from gateway import versions
from gateway.matching import RuleError, clean_host, clean_method, clean_path_prefix
from gateway.models import (
    DEFAULT_METHOD_SCOPES,
    SCOPE_LEVELS,
    SLUG_MAX_LENGTH,
    Service,
    ServiceRule,
    scope_name,
)
from tokens import rules as permissions
from tokens.actors import Actor
from tokens.models import Resource, Token, TokenStatus

MAX_RULES = 50
MAX_METHODS = 30
Rule = tuple[str, str]


def _require_manager(actor: Actor, verb: str) -> None:
    if not permissions.may_manage_resources(actor):
        raise PermissionDenied(f"Your role may not {verb} services.")


def clean_slug(slug: str, resource: Resource) -> str:
    """Return the scope name of a service (default: from the resource's name), or raise."""
    value = (slug or "").strip() or slugify(resource.name)[:SLUG_MAX_LENGTH]
    if not value or len(value) > SLUG_MAX_LENGTH or slugify(value) != value:
        raise field_error(
            "slug",
            f"Use lower-case letters, digits, - and _ (at most {SLUG_MAX_LENGTH}) for the "
            "name in the scopes, e.g. billing-api for billing-api:read.",
            "invalid_slug",
        )
    return value


def clean_rules(rules: Iterable[Rule | Mapping[str, str]]) -> list[Rule]:
    """Return (host, path prefix) pairs in canonical form, or raise naming the bad one."""
    cleaned: list[Rule] = []
    for entry in rules or ():
        if isinstance(entry, Mapping):
            host, prefix = entry.get("host", ""), entry.get("path_prefix", "/")
        else:
            host, prefix = entry
        try:
            rule = (clean_host(str(host)), clean_path_prefix(str(prefix)))
        except RuleError as error:
            raise field_error("rules", str(error), "invalid_rule") from None
        if rule in cleaned:
            raise field_error(
                "rules", f"{rule[0]}{rule[1]} is listed twice: keep one.", "duplicate_rule"
            )
        cleaned.append(rule)
    if not cleaned:
        raise field_error(
            "rules", "Give at least one host (and path prefix) the service answers on.", "required"
        )
    if len(cleaned) > MAX_RULES:
        raise field_error("rules", f"At most {MAX_RULES} rules per service.", "too_many")
    return cleaned


def clean_method_scopes(method_scopes: Mapping[str, str] | None) -> dict[str, str]:
    """Return the method → level mapping (default: GET, HEAD, OPTIONS read), or raise."""
    if method_scopes is None:
        return dict(DEFAULT_METHOD_SCOPES)
    if not isinstance(method_scopes, Mapping) or len(method_scopes) > MAX_METHODS:
        raise field_error(
            "method_scopes",
            f"Map at most {MAX_METHODS} HTTP methods to read or write.",
            "invalid_methods",
        )
    cleaned: dict[str, str] = {}
    for method, level in method_scopes.items():
        try:
            name = clean_method(str(method))
        except RuleError as error:
            raise field_error("method_scopes", str(error), "invalid_method") from None
        if level not in SCOPE_LEVELS:
            raise field_error(
                "method_scopes", f"Map {name} to read or write, not “{level}”.", "invalid_level"
            )
        cleaned[name] = level
    return cleaned


def _taken(workspace_id: int, rules: list[Rule], exclude: Service | None) -> list[ServiceRule]:
    """Return the workspace's rules of other services on the same host and prefix."""
    others = ServiceRule.objects.none()
    for host, prefix in rules:
        others |= ServiceRule.objects.filter(
            workspace_id=workspace_id, host=host, path_prefix=prefix
        )
    if exclude is not None:
        others = others.exclude(service=exclude)
    return list(others.select_related("service"))


def _overlap(taken: list[ServiceRule]) -> ValidationError:
    clashes = ", ".join(f"{rule.host}{rule.path_prefix} ({rule.service.slug})" for rule in taken)
    return field_error(
        "rules",
        f"Another service of this workspace already guards {clashes}: a request there "
        "must lead to one service only.",
        "overlapping_service",
    )


def _slug_taken(slug: str) -> ValidationError:
    return field_error(
        "slug", f"Another service of this workspace has the scopes {slug}:…", "duplicate_slug"
    )


def check_free(
    workspace_id: int, slug: str, rules: list[Rule] | None, exclude: Service | None = None
) -> None:
    """Raise when another service of the workspace has this slug or one of these rules."""
    slug_holders = Service.objects.filter(workspace_id=workspace_id, slug=slug)
    if exclude is not None and exclude.pk:
        slug_holders = slug_holders.exclude(pk=exclude.pk)
    if slug_holders.exists():
        raise _slug_taken(slug)
    if rules is not None:
        taken = _taken(workspace_id, rules, exclude if exclude is not None and exclude.pk else None)
        if taken:
            raise _overlap(taken)


def scope_holders(workspace_id: int, slug: str, *, lock: bool = False) -> list[Token]:
    """Return the workspace's tokens, ended ones too, holding <slug>:read or <slug>:write.

    With `lock` (inside the transaction that changes the service) their rows are locked,
    after the workspace's (accounts.locks).
    """
    names = {scope_name(slug, level) for level in SCOPE_LEVELS}
    # No "JSON list contains" lookup works on SQLite: narrow by the JSON text, then check.
    candidates = Token.objects.filter(workspace_id=workspace_id, scopes__icontains=f'"{slug}:')
    if lock:
        lock_workspace(workspace_id)  # before any token: the order every writer keeps
        candidates = candidates.select_for_update(of=("self",))
    candidates = candidates.select_related("workspace").order_by("pk")
    return [token for token in candidates if names & set(token.scopes)]


def scopes_withdraw(
    *,
    actor: Actor,
    workspace_id: int,
    slug: str,
    reason: str,
    request: HttpRequest | None = None,
) -> list[Token]:
    """Remove <slug>:read and <slug>:write from every token of the workspace holding them.

    Each token changed gets a `token.scopes_removed` audit event (as each revoked
    token gets its own `token.revoked`); return those tokens. Callers run it in the
    transaction that makes the slug stop naming their service, or start naming a new one.
    """
    names = {scope_name(slug, level) for level in SCOPE_LEVELS}
    holders = scope_holders(workspace_id, slug, lock=True)
    events = []
    for token in holders:
        removed = [name for name in token.scopes if name in names]
        token.scopes = [name for name in token.scopes if name not in names]
        events.append(
            audit_event(
                action="token.scopes_removed",
                actor=actor,
                target=token,
                request=request,
                details={
                    "name": token.name,
                    "kind": token.kind,
                    "scopes": removed,
                    "service": slug,
                    "reason": reason,
                },
            )
        )
    _save_scopes(holders, events)
    return holders


def _save_scopes(tokens: list[Token], events: list) -> None:
    """Write the tokens' new scopes and their audit events in a fixed number of queries."""
    if tokens:
        Token.objects.bulk_update(tokens, ["scopes"])
        audit_record_all(events)


def scopes_rename(
    *,
    actor: Actor,
    workspace_id: int,
    old_slug: str,
    new_slug: str,
    request: HttpRequest | None = None,
) -> list[Token]:
    """Give every token holding <old_slug>:… the same levels of <new_slug>:… instead.

    A service's new scope name keeps its tokens working: renaming is not revoking.
    Each token changed gets a `token.scopes_renamed` audit event; return those tokens.
    Callers withdraw stale holders of the new name first, in the same transaction.
    """
    renames = {scope_name(old_slug, level): scope_name(new_slug, level) for level in SCOPE_LEVELS}
    holders = scope_holders(workspace_id, old_slug, lock=True)
    events = []
    for token in holders:
        token.scopes = [renames.get(name, name) for name in token.scopes]
        events.append(
            audit_event(
                action="token.scopes_renamed",
                actor=actor,
                target=token,
                request=request,
                details={"name": token.name, "kind": token.kind, "from": old_slug, "to": new_slug},
            )
        )
    _save_scopes(holders, events)
    return holders


def tokens_losing_access(service: Service) -> int:
    """Return how many active tokens hold the service's scopes (and would lose them)."""
    now = timezone.now()
    holders = scope_holders(service.workspace_id, service.slug)
    return sum(1 for token in holders if token.status(now) == TokenStatus.ACTIVE)


def _replace_rules(service: Service, rules: list[Rule]) -> None:
    service.rules.all().delete()
    ServiceRule.objects.bulk_create(
        ServiceRule(service=service, workspace_id=service.workspace_id, host=h, path_prefix=p)
        for h, p in rules
    )


def _save(
    action: str,
    actor: Actor,
    service: Service,
    rules,
    request,
    changes: dict,
    withdrawn: Mapping[str, str] | None = None,
    renamed_from: str | None = None,
) -> None:
    """Save `service` and its rules, or raise the field error a concurrent change caused.

    `withdrawn` maps slugs whose scopes tokens lose to the reason (see scopes_withdraw);
    then the holders of `renamed_from`'s scopes get the service's new ones.
    """
    try:
        with transaction.atomic():
            check_free(service.workspace_id, service.slug, rules, service)
            for slug, reason in (withdrawn or {}).items():
                scopes_withdraw(
                    actor=actor,
                    workspace_id=service.workspace_id,
                    slug=slug,
                    reason=reason,
                    request=request,
                )
            if renamed_from:
                scopes_rename(
                    actor=actor,
                    workspace_id=service.workspace_id,
                    old_slug=renamed_from,
                    new_slug=service.slug,
                    request=request,
                )
            service.save()
            if rules is not None:
                _replace_rules(service, rules)
                # bulk_create sends no post_save: the version must still change.
                versions.bump(service.workspace_id)
            audit_record(
                action=action,
                actor=actor,
                target=service.resource,
                request=request,
                details={"name": service.resource.name, "slug": service.slug, **changes},
            )
    except IntegrityError:  # a concurrent change took the slug or a rule
        raise field_error(
            "rules",
            "Another service took this scope name or one of these rules meanwhile; try again.",
            "overlapping_service",
        ) from None


def _rules_text(rules: list[Rule]) -> list[str]:
    return [f"{host}{prefix}" for host, prefix in rules]


def service_create(
    *,
    actor: Actor,
    resource: Resource,
    rules: Iterable[Rule | Mapping[str, str]],
    slug: str = "",
    method_scopes: Mapping[str, str] | None = None,
    request: HttpRequest | None = None,
) -> Service:
    """Make `resource` an HTTP service guarded by the gateway check at these rules."""
    _require_manager(actor, "create")
    if Service.objects.filter(resource=resource).exists():
        raise field_error(
            "resource", f"“{resource.name}” is already an HTTP service.", "already_service"
        )
    service = Service(
        resource=resource,
        workspace_id=resource.workspace_id,
        slug=clean_slug(slug, resource),
        method_scopes=clean_method_scopes(method_scopes),
    )
    cleaned = clean_rules(rules)
    _save(
        "service.created",
        actor,
        service,
        cleaned,
        request,
        {"rules": _rules_text(cleaned), "method_scopes": service.method_scopes},
        # Left by a service deleted before scopes were withdrawn, or by a race with it.
        withdrawn={service.slug: "stale_scope"},
    )
    return service


def service_update(
    *,
    actor: Actor,
    service: Service,
    rules: Iterable[Rule | Mapping[str, str]] | None = None,
    slug: str | None = None,
    method_scopes: Mapping[str, str] | None = None,
    request: HttpRequest | None = None,
) -> Service:
    """Change a service's rules, scope name or method scopes (those given)."""
    _require_manager(actor, "change")
    cleaned = None if rules is None else clean_rules(rules)
    changes: dict = {}
    withdrawn: dict[str, str] = {}
    renamed_from = None
    if slug is not None:
        new_slug = clean_slug(slug, service.resource)
        if new_slug != service.slug:
            changes["slug_from"] = renamed_from = service.slug
            # Holders of the old names get the new ones; a stale holder of a new name
            # (left from a service that had it before) does not gain this service.
            withdrawn = {new_slug: "stale_scope"}
            service.slug = new_slug
    if method_scopes is not None:
        service.method_scopes = clean_method_scopes(method_scopes)
        changes["method_scopes"] = service.method_scopes
    if cleaned is not None:
        changes["rules"] = _rules_text(cleaned)
    if not changes:
        return service
    _save("service.updated", actor, service, cleaned, request, changes, withdrawn, renamed_from)
    return service


def service_delete(
    *, actor: Actor, service: Service, request: HttpRequest | None = None
) -> list[Token]:
    """Stop guarding a resource: it stays a label, and the check refuses its requests.

    Every token holding the service's scopes loses them (each audited), so that a
    service later given the same slug is not opened to them; return those tokens.
    """
    _require_manager(actor, "delete")
    with transaction.atomic():
        holders = scopes_withdraw(
            actor=actor,
            workspace_id=service.workspace_id,
            slug=service.slug,
            reason="service_deleted",
            request=request,
        )
        audit_record(
            action="service.deleted",
            actor=actor,
            target=service.resource,
            request=request,
            details={
                "name": service.resource.name,
                "slug": service.slug,
                "scopes_removed_from": [token.public_id for token in holders],
            },
        )
        service.delete()
    return holders
