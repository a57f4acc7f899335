"""Read the request a gateway asks about: method, host and URI, from the headers it speaks.

- nginx `auth_request`: X-Original-Method, X-Original-URI, X-Original-Host (or Host).
- Traefik ForwardAuth and Caddy forward_auth: X-Forwarded-Method, -Uri, -Host.
- Envoy ext_authz (HTTP mode): the check's own method, its path after
  /gateway/check/envoy, and its Host; Envoy passes the client's headers along,
  so no X-Original-* or X-Forwarded-* header is believed there.

Gateways pass the client's own headers to the check and overwrite only theirs:
a client could send X-Original-URI through Traefik, or X-Forwarded-Host through
nginx. So when both families name a value and disagree, the request is refused
rather than guessed; a gateway's configuration must set the host it guards in
one of them (docs/gateways.md), since Host alone is what the check falls back on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.encoding import escape_uri_path

__all__ = ["Conflict", "Original", "original_request"]

FIELDS = {
    "method": ("HTTP_X_ORIGINAL_METHOD", "HTTP_X_FORWARDED_METHOD"),
    "uri": ("HTTP_X_ORIGINAL_URI", "HTTP_X_FORWARDED_URI"),
    "host": ("HTTP_X_ORIGINAL_HOST", "HTTP_X_FORWARDED_HOST"),
}


class Conflict(ValueError):
    """The gateway's headers disagree about the original request; the message says which."""


@dataclass(frozen=True, slots=True)
class Original:
    """The request the gateway asks about; `uri` is None when no header gave it."""

    method: str
    host: str
    uri: str | None


def _agreed(meta: dict, field: str) -> str | None:
    values = {meta[key] for key in FIELDS[field] if key in meta}
    if len(values) > 1:
        raise Conflict(f"The gateway's headers disagree about the original {field}.")
    return values.pop() if values else None


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
    return Original(
        method=_agreed(meta, "method") or request.method,
        host=_agreed(meta, "host") or meta.get("HTTP_HOST", ""),
        uri=_agreed(meta, "uri"),
    )
