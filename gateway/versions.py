"""Version each workspace's services, so every process knows when its compiled rules are stale.

The version is read by the token lookup itself (tokens.auth.register_lookup_column):
checking it costs no extra query. It changes in the same transaction as the rules,
so a process that reads the new version and then loads the rules sees the new rules.
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction

from gateway.models import ServiceVersion

# The name of the version in TokenPrincipal.extras.
LOOKUP_NAME = "gateway_version"


def lookup_expression() -> str:
    """Return the SQL that reads the version of the token's workspace in the token lookup."""
    table = ServiceVersion._meta.db_table
    return f"SELECT v.version FROM {table} v WHERE v.workspace_id = t.workspace_id"  # noqa: S608


def bump(workspace_id: int) -> None:
    """Give the workspace's services a new version (in the caller's transaction)."""
    version = secrets.randbits(62)
    if ServiceVersion.objects.filter(workspace_id=workspace_id).update(version=version):
        return
    try:
        with transaction.atomic():
            ServiceVersion.objects.create(workspace_id=workspace_id, version=version)
    except IntegrityError:  # created meanwhile by another process
        ServiceVersion.objects.filter(workspace_id=workspace_id).update(version=version)
