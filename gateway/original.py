"""Read the request a gateway asks about: method, host and URI, from the headers it speaks.

- nginx `auth_request`: X-Original-Method, X-Original-URI, X-Original-Host (or Host).
- Traefik ForwardAuth and Caddy forward_auth: X-Forwarded-Method, -Uri, -Host.
- Envoy ext_authz (HTTP mode): the check's own method, its path after
  /gateway/check/envoy, and its Host; Envoy passes the client's headers along,
  so no X-Original-* or X-Forwarded-* header is believed there.

Gateways pass the client's own headers to the check and overwrite only theirs:
a client could send X-Original-URI through Traefik, or X-Forwarded-Host through
nginx. So a family is read only when it names the URI, its missing method or
host is the check request's own (nginx's subrequest keeps the method; its Host
is what the configuration sets), and when two families are read and disagree on
anything, the request is refused rather than guessed. A client's X-Forwarded-Host
alone, through nginx, is never read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.encoding import escape_uri_path

__all__ = ["Conflict", "Original", "original_request"]

# Each family of headers: its URI, method and host header. A family counts only when it
# names the URI; its method and host then fall back to the check request's own.
FAMILIES = (
    ("HTTP_X_ORIGINAL_URI", "HTTP_X_ORIGINAL_METHOD", "HTTP_X_ORIGINAL_HOST"),
    ("HTTP_X_FORWARDED_URI", "HTTP_X_FORWARDED_METHOD", "HTTP_X_FORWARDED_HOST"),
)


class Conflict(ValueError):
    """The gateway's headers disagree about the original request; the message says which."""


@dataclass(frozen=True, slots=True)
class Original:
    """The request the gateway asks about; `uri` is None when no header gave it."""

    method: str
    host: str
    uri: str | None


def _one(values: set[str], field: str) -> str:
    if len(values) > 1:
        raise Conflict(f"The gateway's headers disagree about the original {field}.")
    return values.pop()


def original_request(request: HttpRequest, envoy_path: str | None = None) -> Original:
    """Return the original request of a check (`envoy_path`: the path after the Envoy
    prefix, as Django decoded it), or raise Conflict."""
    meta = request.META
    if envoy_path is not None:
        query = meta.get("QUERY_STRING", "")
        # Django decoded the path: encode it again, so that %2e or %252e reach the matching
        # as Envoy sent them, not decoded once more.
        uri = "/" + escape_uri_path(envoy_path) + (f"?{query}" if query else "")
        return Original(method=request.method, host=meta.get("HTTP_HOST", ""), uri=uri)
    named = [family for family in FAMILIES if family[0] in meta]
    if not named:
        return Original(method=request.method, host=meta.get("HTTP_HOST", ""), uri=None)
    own_host = meta.get("HTTP_HOST", "")
    return Original(
        uri=_one({meta[uri] for uri, _, _ in named}, "URI"),
        method=_one({meta.get(method, request.method) for _, method, _ in named}, "method"),
        host=_one({meta.get(host, own_host) for _, _, host in named}, "host"),
    )
