"""Middleware of operations: the request log, metrics and id; open endpoints; database down."""

from __future__ import annotations

import logging
from functools import lru_cache
from time import perf_counter

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve

from accounts.http import client_ip
from ops import metrics, request_ids
from ops.routes import route_name
from ops.unavailable import DATABASE_DOWN, database_down_response
from ops.urls import OPEN_PATHS

request_logger = logging.getLogger("keyward.requests")


class RequestLogMiddleware:
    """Give each request an id, then log it in one line and count it in the metrics.

    First in MIDDLEWARE, so it sees every answer, including other middleware's.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = perf_counter()
        request_id = request_ids.accept(request.META.get(request_ids.META_KEY))
        request.request_id = request_id
        # Cleared when the request finishes (request_ids.forget), not here: Django logs
        # an error response after the middleware returned it.
        request_ids.current.set(request_id)
        response = self.get_response(request)
        seconds = perf_counter() - started
        route = route_name(request)
        metrics.observe_request(route, request.method, response.status_code, seconds)
        response[request_ids.HEADER] = request_id
        self._log(request, response, route, seconds)
        return response

    @staticmethod
    def _log(request: HttpRequest, response: HttpResponse, route: str, seconds: float) -> None:
        # Successful probes and scrapes come every few seconds: kept out of the INFO log.
        quiet = route.startswith("ops:") and response.status_code < 400
        level = logging.DEBUG if quiet else logging.INFO
        if not request_logger.isEnabledFor(level):
            return
        status = response.status_code
        fields = {
            "method": request.method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "client_ip": client_ip(request),
        }
        workspace = getattr(request, "workspace", None)
        principal = getattr(request, "auth", None)
        if principal is not None:  # the API's caller (tokens.auth.TokenPrincipal)
            fields["workspace"] = principal.workspace_slug
            fields["token"] = principal.public_id
        elif workspace is not None:  # a console page of a workspace
            fields["workspace"] = workspace.slug
        request_logger.log(
            level, "%s %s %s %.1f ms", request.method, route, status, seconds * 1000, extra=fields
        )


class OpenEndpointsMiddleware:
    """Answer /healthz, /readyz and /metrics before the host, HTTPS and session middleware.

    Orchestrators probe a process at its own address over plain HTTP (Host: the
    pod's IP): ALLOWED_HOSTS and the HTTPS redirect would refuse them. These
    views read no session and no cookie, and /metrics checks its caller itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in OPEN_PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)


class DatabaseUnavailableMiddleware:
    """Answer 503 (a page, or JSON for the API) when a view finds the database down.

    Last in MIDDLEWARE, so its process_exception sees views' exceptions first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, DATABASE_DOWN):
            return database_down_response(request, exception)
        return None


API_PREFIX = "/api/v1/"
# A JSON answer loads nothing and is framed nowhere.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


@lru_cache(maxsize=256)
def _lane_route(path: str):
    """Return the route of a direct() API endpoint (tokens.api) at `path`, or None."""
    from tokens.api import DIRECT

    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if match.url_name in DIRECT else None


class ApiLaneMiddleware:
    """Serve the API's hottest endpoints (tokens.api.direct: whoami, introspect) past the
    middleware they never use: static files, CSP nonces, sessions, CSRF (Bearer requests
    carry no cookie), messages, HTMX.

    Kept, as the whole stack gives them: the Host check (400), the HTTPS redirect and
    security headers (SecurityMiddleware), X-Frame-Options, Content-Length, and the 503
    of a database that is down. Their CSP forbids everything: a JSON answer loads nothing.
    Placed after the request log and the gateway check, which still see them.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.security = SecurityMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        match = _lane_route(path) if path.startswith(API_PREFIX) else None
        if match is None:
            return self.get_response(request)
        request.get_host()  # ALLOWED_HOSTS: DisallowedHost answers 400
        redirect = self.security.process_request(request)
        if redirect is not None:
            return self.security.process_response(request, redirect)
        request.resolver_match = match
        try:
            response = match.func(request, *match.args, **match.kwargs)
        except DATABASE_DOWN as error:
            response = database_down_response(request, error)
        response.headers.setdefault("Content-Security-Policy", API_CSP)
        response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        if not response.streaming:
            response.headers.setdefault("Content-Length", str(len(response.content)))
        return self.security.process_response(request, response)
