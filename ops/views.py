"""The operations endpoints: /healthz, /readyz and /metrics (routed in ops/urls.py).

ops.middleware.OpenEndpointsMiddleware answers them before Django's host, HTTPS
and session middleware, so they need no session, no CSRF token, no allowed Host.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from prometheus_client import CONTENT_TYPE_LATEST

from accounts.http import client_ip
from ops import health, metrics
from tokens.api import REALM, ApiError, bearer_auth

METRICS_SCOPE = "metrics:read"
INSUFFICIENT_SCOPE = f'{REALM}, error="insufficient_scope", scope="{METRICS_SCOPE}"'


def _read_only(view):
    """Answer only GET and HEAD (a JSON 405 otherwise); no cache keeps the answer."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = _error(405, "method_not_allowed", "This endpoint accepts GET and HEAD.")
            response["Allow"] = "GET, HEAD"
        else:
            response = view(request)
        patch_cache_control(response, no_store=True)
        return response

    return wrapped


def _error(status: int, error: str, message: str, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse({"error": error, "message": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@_read_only
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer that the process is alive; nothing else is checked."""
    return JsonResponse({"status": "ok"})


@_read_only
def readyz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when every check that applies passes, else 503; name each check's result.

    `?skip=worker` (comma-separated or repeated) leaves checks out, e.g. so that
    the web processes stay in the load balancer while the worker is down.
    """
    skip = {name for value in request.GET.getlist("skip") for name in value.split(",") if name}
    unknown = skip - set(health.CHECKS)
    if unknown:
        return _error(
            400,
            "invalid_request",
            f"Unknown check {', '.join(sorted(unknown))}; the checks are "
            f"{', '.join(health.CHECKS)}.",
        )
    results = health.readiness(skip)
    ready = all(result.ok for result in results.values())
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {name: result.as_json() for name, result in results.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)


def _from_allowed_network(request: HttpRequest) -> bool:
    """Return whether the request comes from an address of KEYWARD_METRICS_ALLOWED_IPS.

    A request that passed through a proxy Keyward does not read (X-Forwarded-For
    without KEYWARD_TRUST_X_FORWARDED_FOR) has the proxy's address, often
    loopback: it does not count as coming from there.
    """
    if "HTTP_X_FORWARDED_FOR" in request.META and not settings.KEYWARD_TRUST_X_FORWARDED_FOR:
        return False
    address = client_ip(request)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(
        ip in ipaddress.ip_network(network, strict=False)
        for network in settings.KEYWARD_METRICS_ALLOWED_IPS
    )


@_read_only
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Answer the metrics in Prometheus' text format, to an allowed address or a token with
    the metrics:read scope; 401 or 403 (JSON) to anyone else."""
    if not _from_allowed_network(request):
        try:
            request.auth = bearer_auth(request)
        except ApiError as refused:
            return _error(refused.status, refused.error, refused.message, refused.headers)
        if not request.auth.has_scope(METRICS_SCOPE):
            return _error(
                403,
                "insufficient_scope",
                f"This token needs the {METRICS_SCOPE} scope.",
                {"WWW-Authenticate": INSUFFICIENT_SCOPE},
            )
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
