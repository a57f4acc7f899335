"""Put a token's limits into its lookup row, and their enforcement into the API."""

from __future__ import annotations

from gateway import limit_spec, limits
from tokens.api import register_admission
from tokens.auth import register_lookup_column

register_lookup_column(limit_spec.LOOKUP_NAME, limit_spec.lookup_expression)
register_admission(limits.admit)
