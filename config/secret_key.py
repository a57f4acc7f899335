"""The refusal to serve without a SECRET_KEY."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secret_key() -> None:
    """Raise ImproperlyConfigured, saying what to set, when SECRET_KEY is empty.

    Called as the web and worker processes start: they would sign sessions and links.
    """
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django's answer for an empty one
        key = ""
    if not key:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
