"""Shapes of the JSON API's requests and responses."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema
from pydantic import BaseModel

from tokens.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, RotationGrace, Token


class ErrorOut(Schema):
    error: str = Field(description="A stable code, e.g. invalid_token, insufficient_scope.")
    message: str
    fields: dict[str, list[str]] | None = None


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
    """A request body: a JSON object.

    ninja's Schema reads attributes from any value, so a body such as ``[]``
    or ``"x"`` would pass as an object with no fields; pydantic's BaseModel
    refuses it.
    """


class TokenCreateIn(InputSchema):
    name: str = Field(max_length=NAME_MAX_LENGTH)
    description: str = Field("", max_length=DESCRIPTION_MAX_LENGTH)
    kind: str = "workspace"
    scopes: list[str] = Field(default_factory=list)
    preset: str | None = Field(None, description="read, read_write or admin, instead of scopes.")
    resources: list[int] = Field(default_factory=list, description="Resource ids; empty for all.")
    allowed_ips: list[str] = Field(default_factory=list)
    expires_at: datetime | None = None
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenUpdateIn(InputSchema):
    name: str | None = Field(None, max_length=NAME_MAX_LENGTH)
    description: str | None = Field(None, max_length=DESCRIPTION_MAX_LENGTH)


class TokenRotateIn(InputSchema):
    grace: str = Field(RotationGrace.NONE.value, description=", ".join(RotationGrace.values) + ".")


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
