"""Check the settings of a token a user asks for; each raises a ValidationError for its field."""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Workspace
from tokens import scopes as scope_catalogue
from tokens.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, Resource, WorkspacePolicy

MAX_IP_RANGES = 50
# Beyond this an expiry means "never" in all but name, and date arithmetic overflows.
MAX_EXPIRY = timedelta(days=100 * 365)
# The largest id a database's bigint column holds.
MAX_ID = 2**63 - 1
# A lifetime chosen on a form is computed a moment before the service checks it.
LIFETIME_TOLERANCE = timedelta(minutes=5)


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in text)


def clean_name(name: str) -> str:
    """Return the token name trimmed, or raise when it is empty, too long or unprintable."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name."}, code="required")
    if _has_control_characters(name):
        raise ValidationError(
            {"name": "Use letters, digits, spaces and punctuation only."}, code="invalid"
        )
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": f"Keep the name under {NAME_MAX_LENGTH} characters."}, code="too_long"
        )
    return name


def clean_description(description: str) -> str:
    """Return the description trimmed, or raise when it is too long or cannot be stored."""
    description = (description or "").strip()
    # NUL and lone surrogates cannot be stored (PostgreSQL refuses NUL in text).
    if "\x00" in description or any(unicodedata.category(char) == "Cs" for char in description):
        raise ValidationError(
            {"description": "The description contains characters that cannot be stored."},
            code="invalid",
        )
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            {"description": f"Keep the description under {DESCRIPTION_MAX_LENGTH} characters."},
            code="too_long",
        )
    return description


def clean_scopes(requested: Iterable[str], grantable: set[str]) -> list[str]:
    """Return the requested scopes in catalogue order, or raise for unknown or too-powerful ones."""
    requested = set(requested or ())
    known = scope_catalogue.catalogue()
    if not requested:
        raise ValidationError({"scopes": "Choose at least one scope."}, code="required")
    unknown = sorted(requested - known.keys())
    if unknown:
        raise ValidationError(
            {"scopes": f"Unknown scope: {', '.join(unknown)}."}, code="unknown_scope"
        )
    beyond = sorted(requested - grantable)
    if beyond:
        raise ValidationError(
            {"scopes": f"Beyond what you may grant: {', '.join(beyond)}."}, code="scope_not_allowed"
        )
    return [name for name in known if name in requested]


def clean_allowed_ips(ranges: Iterable[str] | str) -> list[str]:
    """Return the CIDR ranges normalised, or raise naming the first bad entry."""
    if isinstance(ranges, str):
        ranges = ranges.replace(",", "\n").splitlines()
    cleaned: list[str] = []
    for entry in (r.strip() for r in ranges or ()):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValidationError(
                {
                    "allowed_ips": f"“{entry}” is not an IP address or CIDR range "
                    "(e.g. 203.0.113.0/24)."
                },
                code="invalid_cidr",
            ) from None
        if str(network) not in cleaned:
            cleaned.append(str(network))
    if len(cleaned) > MAX_IP_RANGES:
        raise ValidationError({"allowed_ips": f"At most {MAX_IP_RANGES} ranges."}, code="too_many")
    return cleaned


def clean_expiry(expires_at: datetime | None, policy: WorkspacePolicy) -> datetime | None:
    """Return the expiry if the policy allows it, or raise saying what the limit is.

    A naive datetime (an API client's ``2030-01-01T00:00``) is read in the
    default time zone.
    """
    now = timezone.now()
    if expires_at is not None and timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)
    if expires_at is None:
        if policy.never_expiring_allowed:
            return None
        if policy.max_lifetime_days:
            message = f"This workspace's tokens must expire within {policy.max_lifetime_days} days."
        else:
            message = "This workspace's tokens must have an expiry date."
        raise ValidationError({"expires_at": message}, code="expiry_required")
    if expires_at <= now:
        raise ValidationError(
            {"expires_at": "Choose an expiry date in the future."}, code="expiry_past"
        )
    if expires_at > now + MAX_EXPIRY:
        raise ValidationError(
            {"expires_at": "Choose an expiry date within the next 100 years."},
            code="expiry_too_far",
        )
    if policy.max_lifetime_days:
        limit = now + timedelta(days=policy.max_lifetime_days) + LIFETIME_TOLERANCE
        if expires_at > limit:
            raise ValidationError(
                {
                    "expires_at": f"This workspace allows at most {policy.max_lifetime_days} "
                    "days before a token expires."
                },
                code="expiry_too_far",
            )
    return expires_at


def clean_resources(workspace: Workspace, resource_ids: Iterable) -> list[Resource]:
    """Return the workspace's resources with these ids, or raise for any that are not its own."""
    wanted = {str(pk) for pk in resource_ids or () if str(pk).strip()}
    if not wanted:
        return []
    if not all(
        pk.isascii() and pk.isdigit() and len(pk) <= 19 and 0 < int(pk) <= MAX_ID for pk in wanted
    ):
        raise ValidationError({"resources": "Unknown resource."}, code="unknown_resource")
    found = list(Resource.objects.filter(workspace=workspace, pk__in=wanted))
    if len(found) != len(wanted):
        raise ValidationError({"resources": "Unknown resource."}, code="unknown_resource")
    return found
