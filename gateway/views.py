"""GET /gateway/check: the forward-auth endpoint nginx, Traefik, Caddy and Envoy ask.

200 with headers the upstream can trust when the token may make the request;
401 with WWW-Authenticate for no or an invalid token; 403 for a valid token
without the scope, resource or IP, or a request no service matches (deny by
default); 429 once an address has sent too many invalid tokens; 503 when the
database cannot answer. Never another 5xx: gateways read any answer but 2xx as
a refusal, and a 500 would say nothing useful. The token value is never logged.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.http import client_ip, user_agent
from gateway import usage
from gateway.decision import Decision, check_request, refuse
from gateway.original import Conflict, original_request
from gateway.signals import gateway_checked
from tokens import lookup_limit
from tokens.api import audit_failure

logger = logging.getLogger("keyward.gateway")
REALM = 'Bearer realm="keyward"'
RETRY_AFTER_SECONDS = 30
MESSAGES = {
    "ok": "The token may make this request.",
    "no_token": "Send a token: Authorization: Bearer <token>.",
    "invalid_token": "The access token is not valid: it is malformed, unknown, revoked or expired.",
    "ip_not_allowed": "This token may not be used from this address.",
    "invalid_path": "The request's path cannot be read one way only; it is refused.",
    "no_matching_service": "No service of this token's workspace answers at this address.",
    "resource_not_allowed": "This token is limited to other resources.",
    "insufficient_scope": "This token lacks the scope this request needs.",
    "rate_limited": "Too many failed authentications from this address. Try again later.",
}


def _token_value(request: HttpRequest) -> str | None:
    header = settings.KEYWARD_GATEWAY_TOKEN_HEADER
    if header:
        value = request.headers.get(header, "").strip()
        if value:
            return value
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _answer(decision: Decision, *, retry_after: int | None = None) -> HttpResponse:
    if decision.allowed:
        body = decision.as_dict()
    elif decision.admission is not None:  # over the token's own limits
        body = decision.admission.body()
    else:
        body = {"error": decision.reason, "message": MESSAGES[decision.reason]}
        if decision.scope is not None:
            body["scope"] = decision.scope
    response = JsonResponse(body, status=decision.status)
    if decision.reason == "no_token":
        response["WWW-Authenticate"] = REALM
    elif decision.reason == "invalid_token":
        response["WWW-Authenticate"] = f'{REALM}, error="invalid_token"'
    elif decision.reason == "insufficient_scope":
        response["WWW-Authenticate"] = (
            f'{REALM}, error="insufficient_scope", scope="{decision.scope}"'
        )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    if decision.admission is not None:  # RateLimit headers (and Retry-After when refused)
        for name, value in decision.admission.headers.items():
            response[name] = value
    if decision.allowed:
        principal = decision.principal
        names = settings.KEYWARD_GATEWAY_RESPONSE_HEADERS
        # Every header, even empty: a gateway that copies them must not keep a client's own.
        response[names["token_id"]] = principal.public_id
        response[names["workspace"]] = principal.workspace_slug
        response[names["owner"]] = principal.owner_email or ""
        response[names["scopes"]] = " ".join(sorted(principal.scopes))
    return response


def _refuse_invalid(decision: Decision, request: HttpRequest) -> HttpResponse:
    """Count, log and audit a token that did not authenticate, as the API does."""
    failure = decision.failure
    ip = client_ip(request) or "unknown"
    try:
        lookup_limit.count_failure(ip)
    except lookup_limit.TooManyFailures as over:
        return _answer(refuse("rate_limited"), retry_after=over.wait)
    logger.warning(
        "Gateway check: token refused: %s (token %s, ip %s)",
        failure.reason if failure else decision.reason,
        (failure.token_id if failure else None) or "-",
        ip,
    )
    if failure is not None and failure.token_id:
        audit_failure(failure, request)
    return _answer(decision)


def _unavailable(error: Exception) -> HttpResponse:
    logger.error("Gateway check failed: %s: %s", type(error).__name__, error, exc_info=error)
    response = JsonResponse(
        {
            "error": "unavailable",
            "message": "Keyward cannot decide right now. Try again shortly.",
            "retry_after": RETRY_AFTER_SECONDS,
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _decide(request: HttpRequest, envoy_path: str | None) -> HttpResponse:
    try:
        original = original_request(request, envoy_path)
    except Conflict as conflict:
        logger.warning("Gateway check: %s", conflict)
        return _answer(refuse("invalid_path"))
    if original.uri is None:
        logger.warning("Gateway check: the gateway sent no original URI")
        return _answer(refuse("invalid_path"))
    ip, agent = client_ip(request), user_agent(request)
    decision = check_request(
        _token_value(request),
        method=original.method,
        host=original.host,
        path=original.uri,
        client_ip=ip,
        user_agent=agent,
    )
    if decision.principal is not None:
        request.auth = decision.principal  # the request log names the token and workspace
    usage.record_decision(decision, ip, agent)
    gateway_checked.send(sender=Decision, decision=decision, request=request)
    if decision.reason == "invalid_token":
        return _refuse_invalid(decision, request)
    if not decision.allowed:
        logger.info(
            "Gateway check: refused %s (token %s, service %s)",
            decision.reason,
            decision.principal.public_id if decision.principal else "-",
            decision.service or "-",
        )
    return _answer(decision)


@csrf_exempt  # any method (gateways forward the original one); no cookie is read
def check(request: HttpRequest, path: str | None = None) -> HttpResponse:
    """Answer a gateway's question: may this token make this request?"""
    try:
        response = _decide(request, path)
    except Exception as error:
        response = _unavailable(error)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
