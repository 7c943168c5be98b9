"""How tokens look over the API: the signed-in token, and the admin's token registry."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from app.auth.models import ROLES, ApiToken
from app.auth.service import parse_lifetime
from app.db import utcnow
from app.pagination import PageSchema


class MeSchema(Schema):
    """The token that made the request: who it is for and what it may do."""

    name = fields.String(metadata={"description": "who or what the token is for"})
    role = fields.String(metadata={"description": "admin, agent or connector"})
    source = fields.String(
        allow_none=True, metadata={"description": "the source a connector token may push to"}
    )


class TokenSchema(Schema):
    """A token as admins see it: never its secret."""

    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    source = fields.Function(
        lambda token: token.source.name if token.source else None, allow_none=True
    )
    prefix = fields.String(metadata={"description": "the secret's first characters"})
    state = fields.Method("_state", metadata={"description": "active, expired or revoked"})
    created_at = fields.AwareDateTime()
    last_used_at = fields.AwareDateTime(allow_none=True, metadata={"description": "to the minute"})
    expires_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)

    def _state(self, token: ApiToken) -> str:
        return token.state(utcnow())


class TokenListSchema(PageSchema):
    """A page of tokens, newest first."""

    data = fields.List(fields.Nested(TokenSchema))


class TokenCreateSchema(Schema):
    """A new token."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    source = fields.String(
        load_default=None, metadata={"description": "required for a connector token"}
    )
    expires_in = fields.String(
        load_default=None,
        metadata={"description": "90d, 12h, 30m or never; default: the role's configured lifetime"},
    )

    @validates("expires_in")
    def _lifetime(self, value: str | None, **_: Any) -> None:
        if value is not None:
            try:
                parse_lifetime(value)
            except ValueError as error:
                raise ValidationError(str(error)) from None


class TokenCreatedSchema(Schema):
    """A token just created, with its secret: shown this once, never stored."""

    token = fields.Nested(TokenSchema)
    secret = fields.String()
