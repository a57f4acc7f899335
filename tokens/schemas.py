"""Shapes of the JSON API's requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.conf import settings
from ninja import Field, Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict

from accounts import text
from tokens.models import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    RotationGrace,
    Token,
    TokenKind,
    TokenStatus,
)
from tokens.validation import MAX_ID, MAX_IP_RANGES

# The schema states what the service accepts, so that generated clients agree with it.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4_RANGE_PATTERN = rf"^{_OCTET}(?:\.{_OCTET}){{3}}(?:/(?:3[0-2]|[12]?\d))?$"

ScopeName = Literal[tuple(settings.KEYWARD_SCOPES)]
# Scopes a workspace adds to the catalogue (tokens.scopes.register_workspace_scopes): its
# services' <slug>:read and <slug>:write; the service checks the workspace has them.
WORKSPACE_SCOPE_PATTERN = r"^[a-z0-9_-]{1,50}:(read|write)$"
WorkspaceScopeName = Annotated[
    str,
    Field(
        pattern=WORKSPACE_SCOPE_PATTERN,
        description="A scope of one of the workspace's services: <service>:read or :write.",
    ),
]
PresetName = Literal[tuple(settings.KEYWARD_SCOPE_PRESETS)]
KindName = Literal[tuple(TokenKind.values)]
GraceName = Literal[tuple(RotationGrace.values)]
ListStatus = Literal[(*TokenStatus.values, "all")]


class ErrorOut(Schema):
    error: str = Field(description="A stable code, e.g. invalid_token, insufficient_scope.")
    message: str
    fields: dict[str, list[str]] | None = Field(
        None,
        description="With validation_error and invalid_request: messages by field "
        "(rate_limit.burst; __all__ for an error of no field).",
    )
    field_codes: dict[str, list[str]] | None = Field(
        None,
        description="With fields: a stable code for each message, in the same order "
        "(e.g. burst_below_rate, min_value, required).",
    )


class WorkspaceOut(Schema):
    slug: str
    name: str


class WhoAmIOut(Schema):
    id: str
    name: str
    kind: str
    workspace: WorkspaceOut
    scopes: list[str]
    resources: list[str] = Field(description="Resource names; empty means all resources.")
    expires_at: datetime | None


# The largest count a limit may name (Redis counts in signed 64-bit integers); the gateway
# app checks the same bound (gateway.limit_models.MAX_LIMIT; a test keeps them equal).
MAX_LIMIT_COUNT = 2**63 - 1


def _whole_number(value):
    """Return a float that is a whole number (JSON's 107.0) as an int; leave the rest."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Strict: true and "5" are not counts (lax pydantic would take them as 1 and 5).
# The bounds are also written as JSON Schema words (as resources' ids are): the schema
# would otherwise say ge/le, which clients and fuzzers do not read.
LimitCount = Annotated[
    int,
    BeforeValidator(_whole_number),
    Field(
        strict=True,
        ge=1,
        le=MAX_LIMIT_COUNT,
        json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT_COUNT},
    ),
]


class RateLimitOut(Schema):
    requests: int = Field(description="Requests allowed per period, on average.")
    per: Literal["second", "minute"]
    burst: int = Field(description="Requests allowed at once; at least `requests`.")


class QuotaOut(Schema):
    uses: int
    period: Literal["total", "month"] = Field(
        description="total: never refills; month: refills at each month's start (UTC)."
    )
    used: int = Field(description="Uses counted in the current period.")
    remaining: int
    resets_at: datetime | None = Field(description="When the quota refills; null: never.")


class TokenLimitsOut(Schema):
    rate_limit: RateLimitOut | None = None
    quota: QuotaOut | None = None


class TokenOut(Schema):
    id: str
    name: str
    description: str
    kind: str
    censored: str
    owner: str | None
    created_by: str | None = Field(description="The email of the person who created it.")
    created_by_token: str | None = Field(
        description="The id of the token that created it through the API, if one did."
    )
    scopes: list[str]
    resources: list[str]
    allowed_ips: list[str]
    status: str
    created_at: datetime
    expires_at: datetime | None
    stops_at: datetime | None = Field(
        description="When an active token stops working (expiry or end of a rotation's grace)."
    )
    last_used_at: datetime | None
    last_used_ip: str | None
    revoked_at: datetime | None
    revoke_reason: str
    rotated_from: str | None
    rate_limit: RateLimitOut | None = Field(None, description="The token's rate limit, if any.")
    quota: QuotaOut | None = Field(None, description="The token's quota and its use, if any.")

    @staticmethod
    def from_token(token: Token) -> TokenOut:
        """Return the API view of a token (resources, owner and creator prefetched)."""
        return TokenOut(
            id=token.public_id,
            name=token.name,
            description=token.description,
            kind=token.kind,
            censored=token.censored,
            owner=token.owner.email if token.owner_id else None,
            created_by=token.created_by.email if token.created_by_id else None,
            created_by_token=token.created_by_token.public_id
            if token.created_by_token_id
            else None,
            scopes=list(token.scopes),
            resources=[r.name for r in token.resources.all()],
            allowed_ips=list(token.allowed_ips),
            status=token.status(),
            created_at=token.created_at,
            expires_at=token.expires_at,
            stops_at=token.ends_at,
            last_used_at=token.last_used_at,
            last_used_ip=token.last_used_ip,
            revoked_at=token.revoked_at,
            revoke_reason=token.revoke_reason,
            rotated_from=token.rotated_from.public_id if token.rotated_from_id else None,
        )


class TokenWithSecretOut(TokenOut):
    token: str = Field(description="The secret. It appears in this response only.")


class InputSchema(BaseModel):
    """A request body: a JSON object with no unknown fields.

    ninja's Schema reads attributes from any value, so a body such as ``[]``
    or ``"x"`` would pass as an object with no fields; pydantic's BaseModel
    refuses it.
    """

    model_config = ConfigDict(extra="forbid")


NameField = Field(
    min_length=1,
    max_length=NAME_MAX_LENGTH,
    pattern=text.GIVEN_NAME_PATTERN,
    description="One line of printable text; surrounding spaces are trimmed.",
)
DescriptionField = Field(
    max_length=DESCRIPTION_MAX_LENGTH,
    pattern=text.TEXT_PATTERN,
    description="Printable text; it may span lines.",
)


class RateLimitIn(InputSchema):
    """`requests` per `per`, up to `burst` at once (default: `requests`)."""

    requests: LimitCount
    per: Literal["second", "minute"] = "minute"
    burst: LimitCount | None = None


class QuotaIn(InputSchema):
    """`uses` in total, or per calendar month (UTC), refilled at each month's start."""

    uses: LimitCount
    period: Literal["total", "month"] = "month"


class TokenCreateIn(InputSchema):
    """Scopes or a preset, not both; an expiry date or a number of days, not both."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["scopes"]}, {"required": ["preset"]}],
            "not": {"required": ["expires_at", "expires_in_days"]},
        }
    )

    name: Annotated[str, NameField]
    description: Annotated[str, DescriptionField] = ""
    kind: KindName = "workspace"
    scopes: list[ScopeName | WorkspaceScopeName] = Field(
        None, min_length=1, description="Instead of a preset."
    )
    preset: PresetName = Field(None, description="Instead of scopes.")
    resources: list[int] = Field(
        default_factory=list,
        description="Ids of the workspace's resources; empty for all.",
        json_schema_extra={"items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
    )
    allowed_ips: list[Annotated[str, Field(pattern=r"^\S+$")]] = Field(
        default_factory=list,
        max_length=MAX_IP_RANGES,
        description="IP addresses or CIDR ranges (IPv6 ranges too); empty for any address.",
        json_schema_extra={
            "items": {
                "type": "string",
                "pattern": r"^\S+$",
                "anyOf": [{"pattern": IPV4_RANGE_PATTERN}, {"format": "ipv6"}],
            },
        },
    )
    rate_limit: RateLimitIn | None = Field(
        None, description="Left out: the workspace's default (if any); null: none."
    )
    quota: QuotaIn | None = Field(
        None, description="Left out: the workspace's default (if any); null: none."
    )
    expires_at: datetime = Field(
        None, description="In the future, within the workspace's maximum lifetime."
    )
    expires_in_days: int = Field(None, ge=1, le=3650)


class TokenUpdateIn(InputSchema):
    name: Annotated[str, NameField] = None
    description: Annotated[str, DescriptionField] = None
    rate_limit: RateLimitIn | None = Field(None, description="null removes the rate limit.")
    quota: QuotaIn | None = Field(None, description="null removes the quota.")


class TokenRotateIn(InputSchema):
    grace: GraceName = Field(
        RotationGrace.NONE.value, description="How long the old secret keeps working."
    )


class DecisionOut(Schema):
    """Whether the token may make the request named by resource, method and path."""

    allowed: bool
    reason: str = Field(
        description="ok, or why not: no_matching_service, resource_not_allowed, "
        "insufficient_scope, invalid_path"
    )
    resource: str | None = None
    service: str | None = None
    scope: str | None = Field(None, description="The scope the request needs.")


class IntrospectionOut(Schema):
    active: bool
    scope: str | None = None
    client_id: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    sub: str | None = None
    username: str | None = None
    workspace: str | None = None
    name: str | None = None
    decision: DecisionOut | None = None
