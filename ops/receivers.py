"""Count what tokens announces (tokens.signals) in the metrics."""

from __future__ import annotations

from django.dispatch import receiver

from ops import metrics
from tokens.auth import TokenPrincipal
from tokens.models import Token
from tokens.signals import api_authentication, token_issued, token_revoked

_authentications: dict[str, object] = {}


@receiver(api_authentication, sender=TokenPrincipal)
def count_api_authentication(sender, reason: str, **kwargs) -> None:
    """Count one API credential check by its outcome."""
    counter = _authentications.get(reason)
    if counter is None:  # reasons are a short fixed list, so this dict stays small
        counter = _authentications[reason] = metrics.API_AUTHENTICATIONS.labels(reason)
    counter.inc()


@receiver(token_issued, sender=Token)
def count_token_issued(sender, token: Token, via: str, **kwargs) -> None:
    """Count one issued token."""
    metrics.TOKENS_ISSUED.labels(token.kind, via).inc()


@receiver(token_revoked, sender=Token)
def count_token_revoked(sender, token: Token, reason: str, **kwargs) -> None:
    """Count one revoked token."""
    metrics.TOKENS_REVOKED.labels(str(reason)).inc()
