"""A bare Django JSON view with whoami's body: the yardstick the API's routes are measured by.

It has no authentication, no django-ninja and no validation: a request to it
costs the middleware, URL resolution and a JsonResponse, which every API
request costs too. bench/urls.py serves it to the benchmarks and the load test
only; the production URLconf never includes it.
"""

from __future__ import annotations

import threading

from django.db import connection
from django.http import HttpRequest, JsonResponse

BODY = {
    "id": "tok_0000000000000000",
    "name": "bench",
    "kind": "workspace",
    "workspace": {"slug": "bench", "name": "Bench"},
    "scopes": ["tokens:read", "workspace:read"],
    "resources": [],
    "expires_at": None,
}


def bare(request: HttpRequest) -> JsonResponse:
    """Return a constant whoami-shaped body."""
    return JsonResponse(BODY)


def bare_query(request: HttpRequest) -> JsonResponse:
    """Return the same body after one trivial database round trip: the floor of a view that queries.

    Every authenticated API request makes one query; this view makes one too and
    nothing else, so the gap between it and the bare view is what the database
    round trip alone costs, and the gap between it and whoami is ours.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse(BODY)


_kept = threading.local()


def bare_driver_query(request: HttpRequest) -> JsonResponse:
    """Return the same body after one SELECT 1 on a driver cursor kept open: the lookup's way.

    The token lookup (tokens.auth) skips Django's cursor and keeps one driver cursor
    per connection; this view does the same with the most trivial query, so it is
    the floor of a request that asks the database once the way the lookup does.
    """
    connection.ensure_connection()
    raw = connection.connection
    kept = getattr(_kept, "cursor", None)
    if kept is None or kept[0] is not raw:
        kept = _kept.cursor = (raw, raw.cursor())
    kept[1].execute("SELECT 1")
    kept[1].fetchone()
    return JsonResponse(BODY)
