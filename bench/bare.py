"""A route with whoami's body and response schema but no authentication, for comparison.

It is added to the real API in the benchmark process only, so that both
requests take the same middleware, URL resolution, exception handlers and
serialisation, and differ by authentication alone.
"""

from __future__ import annotations

from tokens.api import api
from tokens.schemas import WhoAmIOut

BODY = {
    "id": "tok_0000000000000000",
    "name": "bench",
    "kind": "workspace",
    "workspace": {"slug": "bench", "name": "Bench"},
    "scopes": ["tokens:read", "workspace:read"],
    "resources": [],
    "expires_at": None,
}


def bare(request):
    """Return a constant whoami-shaped body."""
    return dict(BODY)


def add_bare_route() -> None:
    """Add GET /api/v1/bench-bare (no authentication) to the API."""
    api.get("/bench-bare", auth=None, response=WhoAmIOut, include_in_schema=False)(bare)
