"""Check the settings of a token a user asks for; each raises a ValidationError for its field."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import query_params
from accounts.errors import field_error
from accounts.models import Workspace
from accounts.text import clean_text
from tokens import scopes as scope_catalogue
from tokens.models import Resource, Token, WorkspacePolicy

MAX_IP_RANGES = 50
# Beyond this an expiry means "never" in all but name, and date arithmetic overflows.
MAX_EXPIRY = timedelta(days=100 * 365)
# The largest id a database's bigint column holds.
MAX_ID = 2**63 - 1
# A lifetime chosen on a form is computed a moment before the service checks it.
LIFETIME_TOLERANCE = timedelta(minutes=5)
# The lifetime the Add-token form proposes, and a rotated never-expiring token gets
# where the policy no longer allows never-expiring tokens.
DEFAULT_LIFETIME_DAYS = 30


def clean_name(name: str) -> str:
    """Return the token name trimmed, or raise when it is empty, too long or not one line."""
    return clean_text(Token, "name", name, required="Give the token a name.")


def clean_description(description: str) -> str:
    """Return the description trimmed, newlines as LF, or raise when too long or unprintable."""
    return clean_text(Token, "description", description)


def clean_scopes(
    requested: Iterable[str], grantable: set[str], workspace_id: int | None = None
) -> list[str]:
    """Return the requested scopes in catalogue order, or raise for unknown or too-powerful ones."""
    requested = set(requested or ())
    known = scope_catalogue.catalogue(workspace_id)
    if not requested:
        raise field_error("scopes", "Choose at least one scope.", "required")
    unknown = sorted(requested - known.keys())
    if unknown:
        raise field_error("scopes", f"Unknown scope: {', '.join(unknown)}.", "unknown_scope")
    beyond = sorted(requested - grantable)
    if beyond:
        raise field_error(
            "scopes", f"Beyond what you may grant: {', '.join(beyond)}.", "scope_not_allowed"
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
            raise field_error(
                "allowed_ips",
                f"“{entry}” is not an IP address or CIDR range (e.g. 203.0.113.0/24).",
                "invalid_cidr",
            ) from None
        if str(network) not in cleaned:
            cleaned.append(str(network))
    if len(cleaned) > MAX_IP_RANGES:
        raise field_error("allowed_ips", f"At most {MAX_IP_RANGES} ranges.", "too_many")
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
        raise field_error("expires_at", message, "expiry_required")
    if expires_at <= now:
        raise field_error("expires_at", "Choose an expiry date in the future.", "expiry_past")
    if expires_at > now + MAX_EXPIRY:
        raise field_error(
            "expires_at", "Choose an expiry date within the next 100 years.", "expiry_too_far"
        )
    if policy.max_lifetime_days:
        limit = now + timedelta(days=policy.max_lifetime_days) + LIFETIME_TOLERANCE
        if expires_at > limit:
            raise field_error(
                "expires_at",
                f"This workspace allows at most {policy.max_lifetime_days} "
                "days before a token expires.",
                "expiry_too_far",
            )
    return expires_at


def clean_resources(workspace: Workspace, resource_ids: Iterable) -> list[Resource]:
    """Return the workspace's resources with these ids, or raise for any that are not its own."""
    given = [str(pk) for pk in resource_ids or () if str(pk).strip()]
    if not given:
        return []
    wanted = {query_params.whole_number(pk, minimum=1, maximum=MAX_ID) for pk in given}
    if None in wanted:
        raise field_error("resources", "Unknown resource.", "unknown_resource")
    found = list(Resource.objects.filter(workspace=workspace, pk__in=wanted))
    if len(found) != len(wanted):
        raise field_error("resources", "Unknown resource.", "unknown_resource")
    return found


def _beyond_maker(field: str, message: str) -> ValidationError:
    return field_error(field, message, "beyond_maker")


def clean_within_maker(
    maker: Token | None,
    *,
    kind: str,
    resources: list[Resource],
    allowed_ips: list[str],
    expires_at: datetime | None,
) -> datetime | None:
    """Return the expiry of a token made by the token `maker`, or raise for any setting
    that would reach beyond its maker.

    A token made through the API is bounded by the token that made it: the same
    kind, a subset of its resources, networks within its IP ranges, and an end no
    later than its expiry (no expiry given: the maker's). Scopes are bounded by
    the actor's scope cap (rules.grantable_scopes). `maker` None (a person, an
    operator, the system) bounds nothing.
    """
    if maker is None:
        return expires_at
    if kind != maker.kind:
        raise _beyond_maker("kind", f"A {maker.kind} token can only make {maker.kind} tokens.")
    allowed_resources = {resource.pk: resource.name for resource in maker.resources.all()}
    if allowed_resources and (
        not resources or any(r.pk not in allowed_resources for r in resources)
    ):
        names = ", ".join(sorted(allowed_resources.values()))
        raise _beyond_maker(
            "resources", f"The token making this one is limited to {names}: choose among them."
        )
    if maker.allowed_ips:
        networks = [ipaddress.ip_network(cidr) for cidr in maker.allowed_ips]
        if not allowed_ips:
            raise _beyond_maker(
                "allowed_ips",
                f"The token making this one is limited to {', '.join(maker.allowed_ips)}: "
                "give ranges within them.",
            )
        for entry in allowed_ips:
            child = ipaddress.ip_network(entry)
            if not any(
                child.version == parent.version and child.subnet_of(parent) for parent in networks
            ):
                raise _beyond_maker(
                    "allowed_ips",
                    f"“{entry}” is outside the ranges of the token making this one "
                    f"({', '.join(maker.allowed_ips)}).",
                )
    if maker.expires_at is not None:
        if expires_at is None:
            return maker.expires_at
        if expires_at > maker.expires_at:
            raise _beyond_maker(
                "expires_at",
                "Choose an expiry no later than that of the token making this one "
                f"({maker.expires_at:%Y-%m-%d %H:%M} UTC).",
            )
    return expires_at


def rotation_expiry(
    token: Token, policy: WorkspacePolicy, maker: Token | None, now: datetime
) -> datetime | None:
    """Return the expiry of the token that replaces `token` when it rotates now.

    The new token gets the old one's lifetime from now, within every current
    rule: capped by the policy's maximum lifetime; where never-expiring tokens
    are no longer allowed, a never-expiring token's successor gets the default
    lifetime; and a token rotated by a token ends no later than that token.
    """
    expires_at = now + (token.expires_at - token.created_at) if token.expires_at else None
    if expires_at is None and not policy.never_expiring_allowed:
        expires_at = now + timedelta(days=DEFAULT_LIFETIME_DAYS)
    if policy.max_lifetime_days:
        expires_at = min(expires_at, now + timedelta(days=policy.max_lifetime_days))
    if maker is not None and maker.expires_at is not None:
        expires_at = min(expires_at or maker.expires_at, maker.expires_at)
    return expires_at
