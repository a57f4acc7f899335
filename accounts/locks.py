"""The row lock that queues a workspace's writers."""

from __future__ import annotations

from accounts.models import Workspace


def lock_workspace(workspace_id: int) -> None:
    """Lock the workspace's row until the transaction ends.

    Taken first by every writer that then locks or changes the workspace's tokens,
    resources, policies or memberships: issuing, renaming, rotating and revoking tokens
    (a revocation goes on to what the token made), limits and their ceilings, token
    policies, a service's scopes renamed or withdrawn, a resource deleted, a member removed
    or demoted. They queue here instead of each holding a row the other waits for. A
    writer of several workspaces (a leak report, a deactivated user's tokens, the key
    rotation command) takes them in the order of their ids.

    FOR NO KEY UPDATE, not FOR UPDATE: PostgreSQL's foreign key check takes a
    key-share lock on the workspace when a transaction commits a row naming it (an audit
    event), and a revocation holding a token must not wait at its commit for a writer that
    waits for that token.
    """
    list(Workspace.objects.select_for_update(no_key=True).filter(pk=workspace_id).values("pk"))
