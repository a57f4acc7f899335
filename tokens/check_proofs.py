"""Sign that a person just pasted a token's value, so "Revoke as leaked" can trust it.

Revoking as leaked emails the token's people; the proof keeps anyone from
labelling a token leaked by its public id alone, without having its value.
"""

from __future__ import annotations

from django.core import signing

CHECK_PROOF_SALT = "keyward.tokens.check"
STALE_PROOF = (
    "This check is no longer valid (checks last 10 minutes). "
    "Paste the value again to revoke its token."
)
CHECK_PROOF_SECONDS = 600


def check_proof(token, user) -> str:
    """Return a signed note that `user` just pasted the value of `token`."""
    return signing.dumps([token.public_id, user.pk], salt=CHECK_PROOF_SALT)


def checked_public_id(proof: str, user) -> str | None:
    """Return the public id a proof names for `user`, or None if forged, foreign or stale."""
    try:
        public_id, user_pk = signing.loads(
            proof, salt=CHECK_PROOF_SALT, max_age=CHECK_PROOF_SECONDS
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return public_id if user_pk == user.pk else None
