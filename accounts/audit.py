"""Record audit events: the one function every state change calls."""

from __future__ import annotations

from typing import Any, Protocol

from django.db import models
from django.http import HttpRequest

from accounts.http import client_ip, user_agent
from accounts.models import AuditEvent, User, Workspace


class AuditActor(Protocol):
    """Anything that acts without being a user: a tokens Actor (token, operator, system)."""

    def audit_actor_fields(self) -> dict[str, Any]:
        """Return the AuditEvent actor fields naming this actor."""


def audit_event(
    *,
    action: str,
    actor: User | AuditActor | None,
    workspace: Workspace | None = None,
    target: models.Model | None = None,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Return one event for the audit log, unsaved (audit_record and audit_record_all save).

    The event belongs to `workspace`, by default to the target's: the target
    itself when it is a workspace, else its `workspace` (a token, resource,
    membership or invitation).
    """
    if workspace is None and target is not None:
        workspace = target if isinstance(target, Workspace) else getattr(target, "workspace", None)
    fields: dict[str, Any] = {}
    if isinstance(actor, User):
        fields = {"actor_user": actor, "actor_label": actor.email}
    elif actor is not None:
        fields = actor.audit_actor_fields()
    if target is not None:
        fields |= {
            "target_type": target._meta.model_name,
            "target_id": str(getattr(target, "public_id", None) or target.pk),
            "target_label": str(target)[:255],
        }
    return AuditEvent(
        action=action,
        workspace=workspace,
        ip=client_ip(request),
        user_agent=user_agent(request),
        details=details or {},
        **fields,
    )


def audit_record(
    *,
    action: str,
    actor: User | AuditActor | None,
    workspace: Workspace | None = None,
    target: models.Model | None = None,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit log and return it (see audit_event)."""
    event = audit_event(
        action=action,
        actor=actor,
        workspace=workspace,
        target=target,
        request=request,
        details=details,
    )
    event.save()
    return event


def audit_record_all(events: list[AuditEvent]) -> list[AuditEvent]:
    """Append these events to the audit log in one query: a change to many things audits
    each of them without a query per thing."""
    return AuditEvent.objects.bulk_create(events)
