"""Normalise hosts and paths, and check match rules: what a request is, seen as a service sees it.

No Django imports: the rules (a host, a path prefix on segment boundaries) and
the request's host and path are compared in one canonical form, so that
`/admin/../x`, `/x/%2e%2e/admin`, `//admin` or `/ADMIN;a=b` cannot land outside
(or inside) a prefix by a spelling the upstream service reads otherwise.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote, unquote_to_bytes

__all__ = [
    "HOST_MAX_LENGTH",
    "PATH_PREFIX_MAX_LENGTH",
    "RuleError",
    "canonical_prefix",
    "clean_host",
    "clean_method",
    "clean_path_prefix",
    "prefix_segments",
    "request_host",
    "request_segments",
]

HOST_MAX_LENGTH = 253
PATH_PREFIX_MAX_LENGTH = 255
METHOD_MAX_LENGTH = 20

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 9110 method token, upper case as every registered method is.
_METHOD = re.compile(r"[A-Z][A-Z0-9_-]*")
# Characters that have no place in a path once decoded: controls, DEL and the backslash
# that some servers read as a slash.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")


class RuleError(ValueError):
    """A match rule's host, prefix or method is not valid; the message says how to fix it."""


def _hostname(host: str) -> bool:
    labels = host.split(".")
    return len(host) <= HOST_MAX_LENGTH and all(_LABEL.fullmatch(label) for label in labels)


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def clean_host(host: str) -> str:
    """Return a rule's host in canonical form (lower case), or raise RuleError.

    A host is a name (`api.example.com`), a wildcard covering every name below
    one (`*.example.com`, not `example.com` itself), or an IP address.
    """
    value = (host or "").strip().lower().rstrip(".")
    if not value:
        raise RuleError("Give a host, e.g. api.example.com or *.example.com.")
    literal = _ip_literal(value)
    if literal is not None:
        return literal
    name = value.removeprefix("*.")
    if "*" in name or not _hostname(name):
        raise RuleError(
            f"“{host}” is not a host name: use letters, digits and hyphens between dots "
            "(api.example.com), or *. before a name (*.example.com)."
        )
    if name != value and "." not in name:
        raise RuleError(f"“{host}” covers a whole top-level domain: name a domain below it.")
    return value


def clean_method(method: str) -> str:
    """Return an HTTP method name as given, or raise RuleError when it is not one."""
    value = (method or "").strip()
    if len(value) > METHOD_MAX_LENGTH or not _METHOD.fullmatch(value):
        raise RuleError(f"“{method}” is not an HTTP method: use capital letters, e.g. GET or POST.")
    return value


@lru_cache(maxsize=4096)  # every check asks; clients repeat their paths
def _decoded_segments(path: str) -> tuple[str, ...] | None:
    """Return the path's segments, decoded, dot-segments resolved, or None if it is ambiguous."""
    if _PERCENT.search(path):
        return None  # a % that encodes nothing: servers disagree on what it means
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return None
    # Still encoded after one decoding (%252e): a server that decodes twice would see
    # another path than ours. Controls and backslashes: servers read them differently.
    if "%" in decoded or _FORBIDDEN.search(decoded):
        return None
    segments: list[str] = []
    for raw in decoded.split("/"):
        segment = raw.split(";", 1)[0]  # /admin;jsessionid=1 is /admin to Java servers
        if segment in ("", "."):
            continue  # // is / to nginx (merge_slashes) and most servers
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment.casefold())
    return tuple(segments)


def request_segments(target: str) -> tuple[str, ...] | None:
    """Return the segments a request target (path, query, maybe absolute-form) addresses.

    None when the path is one that servers read in different ways (double
    encoding, a stray %, control characters, a backslash, invalid UTF-8):
    the check refuses those rather than guess.
    """
    value = _SCHEME.sub("", target or "", count=1)
    value = value.split("#", 1)[0].split("?", 1)[0]
    if not value:
        value = "/"
    if not value.startswith("/"):
        return None
    return _decoded_segments(value)


def clean_path_prefix(prefix: str) -> str:
    """Return a rule's path prefix in canonical form, or raise RuleError.

    The prefix matches whole segments: `/api` matches `/api` and `/api/v1`, not
    `/apis`. It is compared without regard to case, percent-encoding, `;`
    parameters, repeated slashes or a trailing slash.
    """
    value = (prefix or "").strip() or "/"
    if len(value) > PATH_PREFIX_MAX_LENGTH:
        raise RuleError(f"Use at most {PATH_PREFIX_MAX_LENGTH} characters for the path prefix.")
    if not value.startswith("/"):
        raise RuleError(f"“{prefix}” does not start with /: write a path such as /api.")
    if any(char in value for char in "?#;") or any(char.isspace() for char in value):
        raise RuleError(f"“{prefix}” is not a plain path: leave out ?, #, ; and spaces.")
    if any(segment in (".", "..") for segment in unquote(value).split("/")):
        raise RuleError(f"“{prefix}” holds . or .. segments: write the path they lead to.")
    segments = _decoded_segments(value)
    if segments is None:
        raise RuleError(
            f"“{prefix}” is not a plain path: no %, backslashes or control characters once decoded."
        )
    return canonical_prefix(segments)


def canonical_prefix(segments: tuple[str, ...]) -> str:
    """Return the prefix string of `segments` (`/` for none)."""
    return "/" + "/".join(segments)


def prefix_segments(prefix: str) -> tuple[str, ...]:
    """Return the segments of a canonical prefix."""
    return tuple(segment for segment in prefix.split("/") if segment)


@lru_cache(maxsize=1024)  # every check asks; a gateway guards few hosts
def request_host(value: str) -> str | None:
    """Return a request's host (from Host or a forwarded header) in canonical form, or None.

    The port is dropped: rules name hosts, not ports.
    """
    value = (value or "").strip().lower()
    if value.startswith("["):  # [v6]:port
        literal = _ip_literal(value.split("]", 1)[0] + "]")
        return literal
    name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    name = name.rstrip(".")
    if name and _hostname(name):
        return name
    return _ip_literal(name)
