"""Decide whether a token may make a request to a guarded service: the one decision function.

The gateway check (gateway/views.py) and /api/v1/introspect both ask it. A
request is allowed when it matches one of the workspace's services, the token
is not limited to other resources, and it holds the scope the method needs.
Anything else is refused with a stable reason; nothing matched is refused too
(deny by default).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway import limits, versions
from gateway.compiled import CompiledService, rules_for
from gateway.matching import request_host, request_segments
from tokens.auth import AuthenticationFailed, TokenPrincipal, authenticate_token

__all__ = ["REASONS", "Decision", "check_request", "decide", "refuse"]

# Every answer, with the HTTP status the gateway check gives it.
REASONS = {
    "ok": 200,
    "no_token": 401,
    "invalid_token": 401,
    "ip_not_allowed": 403,
    "invalid_path": 403,
    "no_matching_service": 403,
    "resource_not_allowed": 403,
    "insufficient_scope": 403,
    "rate_limited": 429,
    "quota_exceeded": 429,
}


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed, or refused with a reason; what was matched and which scope it needed."""

    reason: str
    principal: TokenPrincipal | None = None
    resource: str | None = None
    service: str | None = None
    scope: str | None = None
    # Why a token did not authenticate (logs and audit only), or None.
    failure: AuthenticationFailed | None = None
    # The token's limits' verdict (gateway.limits.Admission) when it has limits, or None.
    admission: limits.Admission | None = None

    @property
    def allowed(self) -> bool:
        """Return whether the request may go through."""
        return self.reason == "ok"

    @property
    def status(self) -> int:
        """Return the HTTP status the gateway check answers with."""
        return REASONS[self.reason]

    def as_dict(self) -> dict:
        """Return the decision as JSON-ready data (no secret in it)."""
        answer = {"allowed": self.allowed, "reason": self.reason}
        for key in ("resource", "service", "scope"):
            if getattr(self, key) is not None:
                answer[key] = getattr(self, key)
        return answer


def refuse(reason: str, **fields) -> Decision:
    """Return a refusal with `reason` (one of REASONS)."""
    assert reason in REASONS and reason != "ok", reason
    return Decision(reason=reason, **fields)


def _judge(principal: TokenPrincipal, service: CompiledService, method: str) -> Decision:
    scope = service.scope_for(method)
    fields = {
        "principal": principal,
        "resource": service.resource_name,
        "service": service.slug,
        "scope": scope,
    }
    if principal.resources and service.resource_name not in principal.resources:
        return refuse("resource_not_allowed", **fields)
    if scope not in principal.scopes:
        return refuse("insufficient_scope", **fields)
    return Decision(reason="ok", **fields)


def decide(
    principal: TokenPrincipal,
    *,
    method: str,
    host: str | None = None,
    path: str | None = None,
    resource: str | None = None,
) -> Decision:
    """Return whether the authenticated `principal` may send `method` to `host` + `path`.

    `host` is a Host header's value (a port is ignored), `path` a request target
    (its query is ignored). With `resource` (a service's slug or resource name)
    the service is that one, and `path`, when given, must be under one of its
    prefixes on any of its hosts. The client's IP was checked by the token's
    authentication (tokens.auth), the one home of that rule.
    """
    rules = rules_for(principal.workspace_id, principal.extras.get(versions.LOOKUP_NAME))
    segments = None
    if path is not None:
        segments = request_segments(path)
        if segments is None:
            return refuse("invalid_path", principal=principal)
    if resource is not None:
        service = rules.named(resource, segments)
    else:
        service = rules.match(request_host(host or ""), segments or ())
    if service is None:
        return refuse("no_matching_service", principal=principal)
    return _judge(principal, service, method)


def check_request(
    value: str | None,
    *,
    method: str,
    host: str,
    path: str,
    client_ip: str | None,
    user_agent: str = "",
) -> Decision:
    """Authenticate the token `value` (one query) and decide on the request it came with."""
    if not value:
        return refuse("no_token")
    try:
        principal = authenticate_token(value, client_ip=client_ip, user_agent=user_agent)
    except AuthenticationFailed as failure:
        if failure.reason == "ip_not_allowed":
            return refuse("ip_not_allowed", failure=failure)
        return refuse("invalid_token", failure=failure)
    decision = decide(principal, method=method, host=host, path=path)
    if decision.allowed:  # only requests that would go through count against limits
        admission = limits.admit(principal)
        if admission is not None:
            reason = admission.error or "ok"
            decision = replace(decision, reason=reason, admission=admission)
    return decision
