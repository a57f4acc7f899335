"""Each HTTP service's scopes, `<slug>:read` and `<slug>:write`, in its workspace's catalogue.

Registered with tokens.scopes from gateway/apps.py, so that tokens may hold them,
the Add token dialog lists them under the service, and its summary says what
they allow in the service's own terms (which methods).
"""

from __future__ import annotations

from collections.abc import Iterator

from accounts.roles import Role
from gateway.models import Service
from tokens.scopes import Scope

# Reading a service is like reading the workspace; changing it, like managing tokens.
LOWEST_ROLE = {"read": Role.MEMBER, "write": Role.MANAGER}


def service_scopes(workspace) -> Iterator[Scope]:
    """Yield the read and write scopes of each of the workspace's services, by slug."""
    found = Service.objects.filter(workspace=workspace).select_related("resource")
    for service in found.order_by("slug"):
        name = service.resource.name
        reads = ", ".join(m for m, level in service.method_scopes.items() if level == "read")
        yield Scope(
            name=service.scope("read"),
            label=f"Read {name}",
            description=f"{reads} requests to {name}, through the gateway."
            if reads
            else f"No method of {name} needs it: every method needs write.",
            lowest_role=LOWEST_ROLE["read"],
            resource=name,
            summary=f"call {name} with {reads}" if reads else f"reach nothing on {name}",
        )
        others = "any other method" if reads else "any method"
        yield Scope(
            name=service.scope("write"),
            label=f"Write {name}",
            description=f"Requests with {others} (POST, PUT, PATCH, DELETE…) to {name}, "
            "through the gateway.",
            lowest_role=LOWEST_ROLE["write"],
            resource=name,
            summary=f"call {name} with {others}",
        )
