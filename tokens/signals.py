"""Announce what happens to tokens, so that other apps (ops' metrics) can listen.

tokens never imports those apps; they connect to these signals (DESIGN §1).
"""

from django.dispatch import Signal

# Sent by the API each time it checks a request's credentials (on the hot path: cached
# receivers), with sender=TokenPrincipal: reason ("ok", or why the request was refused:
# missing_token, invalid_request, malformed, unknown, revoked, expired, ...), request.
api_authentication = Signal(use_caching=True)

# Sent after the transaction that issued a token commits: token, via ("create", "rotation").
token_issued = Signal()

# Sent after the transaction that revoked a token commits: token, reason (a RevokeReason).
token_revoked = Signal()
