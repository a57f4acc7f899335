"""Remember for a few minutes that this session just gave a passkey: a current factor.

Removing the last factor asks for the password and a current factor. A code
is typed into the same form; a passkey answers through its own JSON endpoint
(accounts.views.passkeys.passkey_sudo, asked with purpose "remove_factor")
just before the form is sent, so that endpoint notes it here and the form
takes the note, once. A passkey given for sudo mode alone does not count.
"""

from __future__ import annotations

import time

from django.http import HttpRequest

SESSION_KEY = "keyward_factor_proof"
SECONDS = 60  # the page sends the form as soon as the passkey answered


def note(request: HttpRequest, method: str) -> None:
    """Record that the signed-in user just gave a current factor by `method`."""
    request.session[SESSION_KEY] = {"method": method, "at": time.time()}


def take(request: HttpRequest) -> str | None:
    """Return the method of a recent factor given in this session and forget it; else None."""
    proof = request.session.pop(SESSION_KEY, None)
    if isinstance(proof, dict) and 0 <= time.time() - proof.get("at", 0) < SECONDS:
        return proof.get("method")
    return None
