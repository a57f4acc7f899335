"""Manage a workspace's resources (create, rename, delete) and say which tokens use one.

A token limited to some resources may reach only those; a token limited to
none reaches every resource. So deleting the last resource a token is limited
to would widen that token to everything: such a deletion is refused while the
token is active. Only roles granted resources.manage (and operators) change
resources; bad input raises ValidationError keyed by field, a forbidden action
PermissionDenied, and neither changes anything. Each change writes an audit event.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_record
from accounts.errors import field_error
from accounts.locks import lock_workspace
from accounts.models import Workspace
from accounts.text import clean_text
from tokens import rules
from tokens.actors import Actor
from tokens.models import Resource, Token, active_q, visible_q

# How many blocking tokens a refusal names before it says "and N more".
NAMES_IN_MESSAGE = 5
NAME_REQUIRED = "Give the resource a name."


def _require_manager(actor: Actor, verb: str) -> None:
    if not rules.may_manage_resources(actor):
        raise PermissionDenied(f"Your role may not {verb} resources.")


def clean_name(name: str) -> str:
    """Return the resource name trimmed, or raise when it is empty, too long or unprintable."""
    return clean_text(Resource, "name", name, required=NAME_REQUIRED)


def clean_kind(kind: str) -> str:
    """Return the kind trimmed (it may be empty), or raise when it is too long or unprintable."""
    return clean_text(Resource, "kind", kind)


def clean_description(description: str) -> str:
    """Return the description trimmed (it may be empty), or raise when too long or unprintable."""
    return clean_text(Resource, "description", description)


def _duplicate_name(name: str) -> ValidationError:
    return field_error(
        "name",
        f"This workspace already has a resource named “{name}”. Choose another name.",
        "duplicate_name",
    )


def _name_taken(workspace: Workspace, name: str, exclude: Resource | None = None) -> bool:
    """Return whether another resource has `name`, ignoring case (“DB” and “db” confuse)."""
    others = Resource.objects.filter(workspace=workspace, name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    return others.exists()


def _audit(action: str, *, actor: Actor, resource: Resource, request, details: dict) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=resource,
        request=request,
        details={"name": resource.name, **details},
    )


def resource_create(
    *,
    actor: Actor,
    workspace: Workspace,
    name: str,
    kind: str = "",
    description: str = "",
    request: HttpRequest | None = None,
) -> Resource:
    """Create a resource that tokens of the workspace may then be limited to."""
    _require_manager(actor, "create")
    name = clean_name(name)
    kind = clean_kind(kind)
    description = clean_description(description)
    try:
        with transaction.atomic():
            if _name_taken(workspace, name):
                raise _duplicate_name(name)
            resource = Resource.objects.create(
                workspace=workspace, name=name, kind=kind, description=description
            )
            _audit(
                "resource.created",
                actor=actor,
                resource=resource,
                request=request,
                details={"kind": kind, "description": description},
            )
    except IntegrityError:  # a concurrent create took the name
        raise _duplicate_name(name) from None
    return resource


def resource_rename(
    *,
    actor: Actor,
    resource: Resource,
    name: str,
    kind: str | None = None,
    description: str | None = None,
    request: HttpRequest | None = None,
) -> Resource:
    """Rename a resource and, when given, change its kind and description.

    Tokens limited to it stay limited to it: they refer to the resource, not its name.
    """
    _require_manager(actor, "rename")
    name = clean_name(name)
    new_kind = resource.kind if kind is None else clean_kind(kind)
    new_description = (
        resource.description if description is None else clean_description(description)
    )
    old = {"name": resource.name, "kind": resource.kind, "description": resource.description}
    new = {"name": name, "kind": new_kind, "description": new_description}
    if new == old:
        return resource
    try:
        with transaction.atomic():
            if name != old["name"] and _name_taken(resource.workspace, name, exclude=resource):
                raise _duplicate_name(name)
            resource.name, resource.kind, resource.description = name, new_kind, new_description
            resource.save(update_fields=["name", "kind", "description"])
            _audit(
                "resource.renamed",
                actor=actor,
                resource=resource,
                request=request,
                details={
                    "from": old["name"],
                    "to": name,
                    "kind": new_kind,
                    "kind_changed": old["kind"] != new_kind,
                    "description_changed": old["description"] != new_description,
                },
            )
    except IntegrityError:
        resource.name, resource.kind, resource.description = old.values()
        raise _duplicate_name(name) from None
    return resource


# What other apps undo when a resource goes (DESIGN §1: gateway withdraws the scopes of
# the resource's service), called in the deleting transaction with who deletes it.
_before_delete: list = []


def register_before_resource_delete(hook) -> None:
    """Call `hook(actor=, resource=, request=)` in the transaction that deletes a resource."""
    if hook not in _before_delete:
        _before_delete.append(hook)


def resource_delete(
    *, actor: Actor, resource: Resource, request: HttpRequest | None = None
) -> None:
    """Delete a resource; tokens limited to it and to others lose it and stay limited.

    Refuse while an active token is limited to this resource alone: without it
    the token would reach every resource. Revoke such tokens first.
    """
    _require_manager(actor, "delete")
    with transaction.atomic():
        # A token issued or rotated meanwhile waits for us (accounts.locks), then finds the
        # resource gone; one issued first is seen below.
        lock_workspace(resource.workspace_id)
        resource = (
            Resource.objects.select_for_update(of=("self",))
            .select_related("workspace")
            .get(pk=resource.pk)
        )
        blocking = list(tokens_limited_only_to(resource).values_list("name", flat=True))
        if blocking:
            raise _in_use(resource, blocking)
        narrowed = list(
            Token.objects.filter(resources=resource).values_list("public_id", flat=True)
        )
        _audit(
            "resource.deleted",
            actor=actor,
            resource=resource,
            request=request,
            details={"kind": resource.kind, "removed_from_tokens": narrowed},
        )
        for hook in _before_delete:
            hook(actor=actor, resource=resource, request=request)
        resource.delete()  # also removes it from the tokens limited to it


def _in_use(resource: Resource, blocking: list[str]) -> ValidationError:
    count = len(blocking)
    names = ", ".join(blocking[:NAMES_IN_MESSAGE])
    if count > NAMES_IN_MESSAGE:
        names += f" and {count - NAMES_IN_MESSAGE} more"
    one = count == 1
    return ValidationError(
        f"{count} active token{' is' if one else 's are'} limited to “{resource.name}” alone "
        f"({names}): without it {'it' if one else 'they'} would reach every resource. "
        f"Revoke {'that token' if one else 'these tokens'} first.",
        code="in_use",
    )


def tokens_using(resource: Resource) -> QuerySet[Token]:
    """Return the active tokens limited to this resource, each with `blocks_deletion`.

    Tokens that block deleting it (limited to it alone) come first, then by name.
    Revoked and expired tokens are left out: they reach nothing either way.
    """
    blocking = tokens_limited_only_to(resource).filter(pk=OuterRef("pk"))
    return (
        Token.objects.active()
        .filter(resources=resource)
        .annotate(blocks_deletion=Exists(blocking))
        .order_by("-blocks_deletion", "name", "pk")
    )


def tokens_limited_only_to(resource: Resource) -> QuerySet[Token]:
    """Return the active tokens limited to this resource and no other, by name.

    Deleting the resource would widen them to every resource.
    """
    others = Token.resources.through.objects.filter(token_id=OuterRef("pk")).exclude(
        resource_id=resource.pk
    )
    return (
        Token.objects.active()
        .filter(resources=resource)
        .exclude(Exists(others))
        .order_by("name", "pk")
    )


def resources_with_usage(actor: Actor, workspace: Workspace) -> QuerySet[Resource]:
    """Return the workspace's resources, each with `active_tokens`: how many active
    tokens the actor may see are limited to it. One query, however many resources."""
    now = timezone.now()
    counted = active_q(now, prefix="tokens__") & visible_q(
        user_id=actor.user_id, sees_all=rules.sees_all_tokens(actor), prefix="tokens__"
    )
    return (
        Resource.objects.filter(workspace=workspace)
        .annotate(active_tokens=Count("tokens", filter=counted, distinct=True))
        .order_by(Lower("name"), "pk")
    )
