"""Middleware of operations: the request log, metrics and id; open endpoints; database down."""

from __future__ import annotations

import logging
from time import perf_counter

from django.http import HttpRequest, HttpResponse
from django.urls import resolve

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
