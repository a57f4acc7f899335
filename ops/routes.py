"""Name the route that answered a request, for logs and metrics."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def route_name(request: HttpRequest) -> str:
    """Return the name of the route that answered: never the path, which may hold secrets
    (invitation and password-reset links) and has no bound on its values."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return "static"
        return "unmatched"  # no route (404), or middleware answered first (redirect, bad host)
    return match.view_name if match.url_name else match.route
