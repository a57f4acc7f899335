"""Answer the gateway check before the Host, HTTPS, session and CSRF middleware.

A gateway asks with the guarded service's Host (Envoy always does), over the
internal network's plain HTTP: ALLOWED_HOSTS and the HTTPS redirect would refuse
it, and nginx turns any answer but 2xx, 401 and 403 into an error. The check
reads no cookie and writes no page, so it needs none of those; it sets its own
no-store and nosniff headers. Placed after the request log, which still sees it.
"""

from __future__ import annotations

from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.urls import resolve

CHECK = "/gateway/check"
ENVOY = "/gateway/check/envoy/"


@lru_cache(maxsize=4)
def _route(path: str):
    """Return the route of the check (or its Envoy form), resolved once per process."""
    return resolve(path)


class GatewayCheckMiddleware:
    """Hand /gateway/check and /gateway/check/envoy/… straight to the check view.

    Their routes are resolved once: the check is the hottest path there is.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == CHECK:
            kwargs = {}
        elif path.startswith(ENVOY):
            kwargs = {"path": path[len(ENVOY) :]}
        else:
            return self.get_response(request)
        match = _route(CHECK if not kwargs else ENVOY)
        request.resolver_match = match
        return match.func(request, **kwargs)
