"""Read the single sign-on issuer's configuration: the settings, its discovery document, its keys.

The issuer is configured by the operator (KEYWARD_OIDC_*). Its endpoints and
signing keys are not: they come from the issuer's discovery document, read on
the first SSO sign-in (not at startup, so an issuer that is down never stops
Keyward from starting) and kept by the process. The signing keys are read
again when a token names a key the process does not know (the issuer rotated).
A failed read is not kept: the next sign-in asks again.
"""

from __future__ import annotations

import threading

import requests
from django.conf import settings

DISCOVERY_PATH = "/.well-known/openid-configuration"
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}

_lock = threading.Lock()
_documents: dict[str, dict] = {}  # issuer -> discovery document
_key_sets: dict[str, dict] = {}  # issuer -> JWKS


class ProviderUnavailable(Exception):
    """Raised when the issuer's discovery document or keys cannot be read or make no sense."""


def is_enabled() -> bool:
    """Return whether single sign-on is configured (an issuer is set)."""
    return bool(settings.KEYWARD_OIDC_ISSUER)


def provider_name() -> str:
    """Return what the sign-in button calls the provider."""
    return settings.KEYWARD_OIDC_PROVIDER_NAME


def _get_json(url: str) -> dict:
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"{url}: {error}") from error
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url}: not a JSON object")
    return document


def discovery() -> dict:
    """Return the issuer's discovery document, read once per process."""
    issuer = settings.KEYWARD_OIDC_ISSUER
    with _lock:
        document = _documents.get(issuer)
    if document is None:
        document = _get_json(issuer.rstrip("/") + DISCOVERY_PATH)
        # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer configured.
        if document.get("issuer") != issuer:
            raise ProviderUnavailable(
                f"the discovery document names issuer {document.get('issuer')!r}, not {issuer!r}"
            )
        missing = [
            name
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
            if not isinstance(document.get(name), str)
        ]
        if missing:
            raise ProviderUnavailable(f"the discovery document lacks {', '.join(missing)}")
        with _lock:
            _documents[issuer] = document
    return document


def signing_keys(*, refresh: bool = False) -> list[dict]:
    """Return the issuer's public keys (its JWKS), read again when `refresh`."""
    issuer = settings.KEYWARD_OIDC_ISSUER
    with _lock:
        key_set = None if refresh else _key_sets.get(issuer)
    if key_set is None:
        key_set = _get_json(discovery()["jwks_uri"])
        if not isinstance(key_set.get("keys"), list):
            raise ProviderUnavailable("the issuer's JWKS has no key list")
        with _lock:
            _key_sets[issuer] = key_set
    return [key for key in key_set["keys"] if isinstance(key, dict)]


def library_setting(name: str, *default):
    """Return mozilla-django-oidc's setting `name`: the client and endpoints from KEYWARD_OIDC_*.

    The package reads its settings through `get_settings`; our subclasses send
    them here, so that the issuer, client and endpoints have one source.
    """
    if name == "OIDC_RP_CLIENT_ID":
        return settings.KEYWARD_OIDC_CLIENT_ID
    if name == "OIDC_RP_CLIENT_SECRET":
        return settings.KEYWARD_OIDC_CLIENT_SECRET
    if name in ENDPOINTS:
        return discovery().get(ENDPOINTS[name])
    return getattr(settings, name, *default) if default else getattr(settings, name)


def forget() -> None:
    """Forget every discovery document and key set read so far (tests, a changed issuer)."""
    with _lock:
        _documents.clear()
        _key_sets.clear()
