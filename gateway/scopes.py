"""Add each service's scopes (<slug>:read, <slug>:write) to its workspace's scope catalogue.

Reading a service is open to every role, as reading tokens is; changing it
(every method its mapping does not call reading) needs a Manager, as managing
tokens does.
"""

from __future__ import annotations

from collections.abc import Iterator

from accounts.roles import Role
from gateway.models import Service, scope_name
from tokens.scopes import Scope

LOWEST_ROLE = {"read": Role.MEMBER, "write": Role.MANAGER}


def service_scopes(workspace_id: int) -> Iterator[Scope]:
    """Yield the read and write scopes of each of the workspace's services, by slug."""
    rows = Service.objects.filter(workspace_id=workspace_id).values_list(
        "slug", "resource__name", "method_scopes"
    )
    for slug, name, method_scopes in rows.order_by("slug"):
        reading = ", ".join(m for m, level in method_scopes.items() if level == "read") or "none"
        yield Scope(
            name=scope_name(slug, "read"),
            label=f"Read {name}",
            description=f"Call the {name} service with the methods that read ({reading}).",
            lowest_role=LOWEST_ROLE["read"],
        )
        yield Scope(
            name=scope_name(slug, "write"),
            label=f"Change {name}",
            description=f"Call the {name} service with every other method.",
            lowest_role=LOWEST_ROLE["write"],
        )
