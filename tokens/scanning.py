"""Answer GitHub Secret Scanning: verify the signed report, revoke leaked tokens, label each.

GitHub signs the raw request body with ECDSA P-256 / SHA-256 and names the key
in a header; its public keys come from a JSON list at a URL (cached, fetched
again when an unknown key identifier arrives) or, offline, from a local file.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
import urllib.request
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts import shared_cache
from accounts.text import name_repaired
from tokens import prefixes
from tokens.models import LeakReport

logger = logging.getLogger("keyward.tokens.scanning")
KEYS_CACHE_KEY = "keyward:github-secret-scanning-keys"
KEYS_FRESH_KEY = "keyward:github-secret-scanning-keys-fresh"
REFETCH_GUARD_KEY = "keyward:github-secret-scanning-refetch"
RETRY_SECONDS = 60
# A report is an array of flat objects (depth 2); a little room for fields GitHub may add.
MAX_DEPTH = 4
JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
INNERMOST_CONTAINER = re.compile(rb"\[[^\[\]{}]*\]|\{[^\[\]{}]*\}")
CONTAINER_MARK = re.compile(rb"[\[\]{}]")


class ScanningError(Exception):
    """A report that must be refused; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ReportedToken:
    token: str
    type: str
    url: str
    source: str


def _parse_key_list(raw: bytes | str) -> dict[str, str]:
    """Return {key identifier: PEM} from GitHub's key list document, or raise ValueError."""
    document = json.loads(raw)
    entries = document.get("public_keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the key list has no public_keys array")
    return {
        entry["key_identifier"]: entry["key"]
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("key_identifier"), str)
        and isinstance(entry.get("key"), str)
    }


def _fetch_keys() -> dict[str, str]:
    """Return the public keys from the local file (if set) or GitHub's key list URL."""
    path = settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE
    if path:
        with open(path, "rb") as handle:
            return _parse_key_list(handle.read())
    url = settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_URL
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (URL is a setting)
        return _parse_key_list(response.read())


def public_key_pem(identifier: str) -> str | None:
    """Return the PEM of the key `identifier`, loading the key list at most once a minute.

    The list is reloaded when it is older than the TTL or lacks `identifier`
    (GitHub rotated its keys); if GitHub cannot be reached, the known keys stay.
    While the shared cache is down each report loads the list (reports are rare).
    """
    try:
        return shared_cache.use(lambda _: _cached_public_key_pem(identifier))
    except shared_cache.SharedCacheUnavailable:
        return _load_keys(previous=None, remember=False).get(identifier)


def _cached_public_key_pem(identifier: str) -> str | None:
    keys = cache.get(KEYS_CACHE_KEY)
    if keys is None:
        return _load_keys(previous=None).get(identifier)
    stale = identifier not in keys or cache.get(KEYS_FRESH_KEY) is None
    if stale and cache.add(REFETCH_GUARD_KEY, 1, RETRY_SECONDS):
        keys = _load_keys(previous=keys)
    return keys.get(identifier)


def _load_keys(previous: dict[str, str] | None, *, remember: bool = True) -> dict[str, str]:
    """Fetch and cache the key list; after a failure keep what we had and wait a minute."""
    try:
        keys = _fetch_keys()
    except (OSError, ValueError, KeyError) as error:
        logger.error("Could not load GitHub's secret scanning keys: %s", error)
        if not remember:
            return previous or {}
        cache.set(REFETCH_GUARD_KEY, 1, RETRY_SECONDS)
        if previous is None:
            # Remember the failure so a burst of reports does not hammer an unreachable URL.
            cache.set(KEYS_CACHE_KEY, {}, RETRY_SECONDS)
        return previous or {}
    if not remember:
        return keys
    # The keys never expire from the cache; a separate marker says when to look again.
    cache.set(KEYS_CACHE_KEY, keys, None)
    cache.set(KEYS_FRESH_KEY, 1, settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_TTL)
    return keys


def verify_signature(body: bytes, identifier: str, signature_b64: str) -> None:
    """Raise ScanningError(401) unless `signature_b64` is GitHub's signature of `body`."""
    if not identifier or not signature_b64:
        raise ScanningError(401, "Missing signature headers.")
    pem = public_key_pem(identifier)
    if pem is None:
        raise ScanningError(401, "Unknown public key identifier.")
    try:
        key = load_pem_public_key(pem.encode())
        signature = base64.b64decode(signature_b64, validate=True)
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("not an elliptic-curve key")
        key.verify(signature, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        raise ScanningError(401, "Bad signature.") from None


def check_size(length: int) -> None:
    """Raise ScanningError(413) if a body of `length` bytes is over the configured limit."""
    if length > settings.KEYWARD_GITHUB_SECRET_SCANNING_MAX_BODY:
        raise ScanningError(413, "The report is too large.")


def check_depth(body: bytes) -> None:
    """Raise ScanningError(400) if the JSON `body` nests arrays or objects over MAX_DEPTH.

    json.loads recurses once per level, so a deep enough body exhausts the
    stack; this scan does not recurse: with strings blanked out, each pass
    removes the innermost containers, and MAX_DEPTH passes must remove all.
    """
    rest = JSON_STRING.sub(b'""', body)
    for _ in range(MAX_DEPTH):
        rest = INNERMOST_CONTAINER.sub(b"", rest)
    if CONTAINER_MARK.search(rest):
        raise ScanningError(400, f"The body nests deeper than {MAX_DEPTH} levels or is not JSON.")


def parse_report(body: bytes) -> list[ReportedToken]:
    """Return the distinct reported tokens, or raise ScanningError(400/413) for a bad body.

    A value reported twice (found in two places) counts once, at its first place.
    """
    check_size(len(body))
    check_depth(body)
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ScanningError(400, "The body is not JSON.") from None
    if not isinstance(items, list):
        raise ScanningError(400, "The body must be a JSON array.")
    reported: dict[str, ReportedToken] = {}
    for item in items:
        if not isinstance(item, dict):
            raise ScanningError(400, "Each entry must be an object.")
        token, kind, url = item.get("token"), item.get("type"), item.get("url", "")
        source = item.get("source", "")
        if not isinstance(token, str) or not isinstance(kind, str):
            raise ScanningError(400, "Each entry needs a token and a type.")
        if not isinstance(url, str) or not isinstance(source, str):
            raise ScanningError(400, "url and source must be strings.")
        # Stored in the audit log: a report is not refused for a stray control character.
        reported.setdefault(
            token,
            ReportedToken(
                token=token,
                type=name_repaired(kind)[:100],
                url=name_repaired(url)[:500],
                source=name_repaired(source)[:100],
            ),
        )
    return list(reported.values())


def handle_report(body: bytes, identifier: str, signature: str) -> list[dict]:
    """Verify a report, revoke the active tokens it names, record it, and return GitHub's answer."""
    from tokens.services import tokens_revoke_leaked

    started = time.perf_counter()
    verify_signature(body, identifier, signature)
    reported = parse_report(body)
    parser = prefixes.parser()
    ours = [r for r in reported if parser.parse(r.token)]
    with transaction.atomic():
        known = tokens_revoke_leaked(
            [(r.token, {"url": r.url, "source": r.source, "type": r.type}) for r in ours]
        )
        entries = [
            {
                "token_id": known[r.token].token.public_id if r.token in known else "",
                "type": r.type,
                "url": r.url,
                "source": r.source,
                "label": "true_positive" if r.token in known else "false_positive",
            }
            for r in reported
        ]
        duration_ms = (time.perf_counter() - started) * 1000
        LeakReport.objects.create(
            key_identifier=identifier[:128],
            reported=len(reported),
            ours=len(known),
            revoked=sum(match.revoked_now for match in known.values()),
            entries=entries,
            duration_ms=duration_ms,
        )
    logger.info(
        "Secret scanning report: %d tokens, %d ours, in %.0f ms",
        len(reported),
        len(known),
        duration_ms,
    )
    return [
        {"token_raw": r.token, "token_type": r.type, "label": entry["label"]}
        for r, entry in zip(reported, entries, strict=True)
    ]
