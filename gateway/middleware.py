"""Answer the gateway check before the Host, HTTPS, session and CSRF middleware.

A gateway asks with the guarded service's Host (Envoy always does), over the
internal network's plain HTTP: ALLOWED_HOSTS and the HTTPS redirect would refuse
it, and nginx turns any answer but 2xx, 401 and 403 into an error. The check
reads no cookie and writes no page, so it needs none of those; it sets its own
no-store and nosniff headers. Placed after the request log, which still sees it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import resolve

PREFIX = "/gateway/check"


class GatewayCheckMiddleware:
    """Hand /gateway/check and /gateway/check/envoy/… straight to the check view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(PREFIX) or (len(path) > len(PREFIX) and path[len(PREFIX)] != "/"):
            return self.get_response(request)
        match = resolve(path)
        if match.namespace != "gateway":
            return self.get_response(request)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
