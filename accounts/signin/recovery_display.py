"""Carry new recovery codes to the page that shows them once, sealed in the session.

Adding a passkey ends in a JSON answer (static/js/passkeys.js), so its
recovery codes are shown by the next page: they wait in the session, encrypted
(accounts.signin.sealing), and that page takes them out.
"""

from __future__ import annotations

import json
import time

from django.http import HttpRequest

from accounts.signin import sealing

SESSION_KEY = "keyward_new_recovery_codes"
SECONDS = 10 * 60


def hold(request: HttpRequest, codes: list[str]) -> None:
    """Keep `codes` for the next page, sealed."""
    sealed = sealing.seal(json.dumps(codes).encode())
    request.session[SESSION_KEY] = {"codes": sealed, "at": time.time()}


def take(request: HttpRequest) -> list[str]:
    """Return the codes held for this page and forget them; [] if none or too old."""
    held = request.session.pop(SESSION_KEY, None)
    if not isinstance(held, dict) or not 0 <= time.time() - held.get("at", 0) < SECONDS:
        return []
    try:
        codes = json.loads(sealing.unseal(held["codes"]))
    except (sealing.Unsealable, KeyError, ValueError):
        return []
    return [code for code in codes if isinstance(code, str)] if isinstance(codes, list) else []
